import Foundation

/// The report as a table for the terminal: one row per mode, each figure the
/// median over the rounds with its range where the range says something.
package enum BenchTable {
    package static func render(_ report: BenchReport) -> String {
        var lines: [String] = []
        let inputs = report.inputs
        lines.append(
            String(
                format: "%d images (%.1f MP, %.1f MB) from %@, %@, %@; median of %d rounds (min-max), %d warm-up",
                inputs.images,
                inputs.megapixels,
                Double(inputs.bytes) / 1e6,
                inputs.path ?? inputs.source,
                report.recipe,
                report.target,
                report.rounds,
                report.warmupRounds
            )
        )
        lines.append(
            String(
                format: "%d cores, load average %@ at start",
                report.host.cores,
                report.host.loadAverage.map { String(format: "%.2f", $0) }.joined(separator: " ")
            )
        )
        let header = ["mode", "images/s", "MP/s", "p50 ms", "p95 ms", "p99 ms", "first result ms", "speedup", "backends", "CPU", "peak MB"]
        var rows: [[String]] = [header]
        for mode in report.modes {
            rows.append([
                mode.label,
                withRange(mode.imagesPerSecond, digits: 1),
                number(mode.megapixelsPerSecond.median, digits: 1),
                number(mode.latencyMs.p50.median, digits: 0),
                number(mode.latencyMs.p95.median, digits: 0),
                number(mode.latencyMs.p99.median, digits: 0),
                withRange(mode.timeToFirstResultMs, digits: 0),
                mode.speedupOverSequential.map { String(format: "%.2fx", $0) } ?? "-",
                backends(mode),
                mode.cpuUtilisation.map { String(format: "%.2f", $0.median) } ?? "-",
                mode.peakMemoryBytes.map { String(format: "%.0f", Double($0) / 1_048_576) } ?? "-",
            ])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for (index, row) in rows.enumerated() {
            let cells = row.enumerated().map { column, cell in
                column == 0 || column == 8
                    ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }
            lines.append(cells.joined(separator: "  "))
            if index == 0 { lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        let comparisons = report.comparisons.sorted { $0.key < $1.key }
        if !comparisons.isEmpty {
            lines.append("")
            for (key, value) in comparisons {
                lines.append(String(format: "%@ %.2f", (key + ":").padding(toLength: 36, withPad: " ", startingAt: 0), value))
            }
        }
        for note in report.notes { lines.append("note: \(note)") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func number(_ value: Double, digits: Int) -> String {
        value.isFinite ? String(format: "%.\(digits)f", value) : "-"
    }

    /// `55.8 (54.1-57.0)`.
    static func withRange(_ spread: Spread, digits: Int) -> String {
        guard spread.median.isFinite else { return "-" }
        if spread.min == spread.max { return number(spread.median, digits: digits) }
        return "\(number(spread.median, digits: digits)) (\(number(spread.min, digits: digits))-\(number(spread.max, digits: digits)))"
    }

    /// `libvips 100%`, or `libvips 60%, opencl:0 40%`; fallbacks counted apart.
    static func backends(_ mode: BenchReport.Mode) -> String {
        let shares = mode.backendShare.sorted { $0.value > $1.value }.map { "\($0.key) \(String(format: "%.0f", $0.value * 100))%" }
        let text = shares.isEmpty ? "-" : shares.joined(separator: ", ")
        return mode.fallbacks > 0 ? "\(text) (\(mode.fallbacks) fallback)" : text
    }
}
