import Foundation

/// The report as one self-contained HTML page: the table, throughput by
/// mode, throughput against workers per backend (with `--sweep`), and the
/// latency distribution of every mode, as inline SVG. No script, no external
/// file: it can be mailed or attached to an issue as it is.
enum BenchHTML {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    static func render(_ report: BenchReport) -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>calotype bench: \(escape(report.recipe))</title>
            <style>
            body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
            table{border-collapse:collapse;font-variant-numeric:tabular-nums}
            th,td{padding:3px 8px;border-bottom:1px solid #ddd;text-align:right}
            th:first-child,td:first-child{text-align:left}
            svg{background:#fff;border:1px solid #eee;margin:1em 0}
            svg text{font:12px system-ui,sans-serif;fill:#333}
            .note{color:#666}
            </style></head><body>
            <h1>calotype bench</h1>

            """
        let inputs = report.inputs
        html +=
            "<p>\(inputs.images) images (\(format(inputs.megapixels, 1)) MP, \(format(Double(inputs.bytes) / 1e6, 1)) MB) from \(escape(inputs.path ?? inputs.source)); "
        html +=
            "recipe <code>\(escape(report.recipe))</code>; \(escape(report.target)); median of \(report.rounds) rounds after \(report.warmupRounds) warm-up; "
        html += "\(report.host.cores) cores, load average \(report.host.loadAverage.map { format($0, 2) }.joined(separator: " ")) at start; "
        html += "calotype \(escape(report.calotypeVersion)), libvips \(escape(report.libvipsVersion ?? "-")); \(escape(report.startedAt)).</p>\n"
        html += table(report)
        html += "<h2>Throughput by mode</h2>\n<p class=\"note\">Median images/s; the whisker spans the rounds' minimum to maximum.</p>\n"
        html += throughputByMode(report)
        html += "<h2>Throughput against workers</h2>\n"
        html += throughputAgainstWorkers(report)
        html +=
            "<h2>Latency distribution</h2>\n<p class=\"note\">Share of images (y) done within a latency (x), every image of every counted round.</p>\n"
        html += latencyDistribution(report)
        if !report.notes.isEmpty {
            html += "<ul class=\"note\">" + report.notes.map { "<li>\(escape($0))</li>" }.joined() + "</ul>\n"
        }
        return html + "</body></html>\n"
    }

    private static func table(_ report: BenchReport) -> String {
        var html =
            "<table id=\"summary\"><tr><th>mode</th><th>images/s</th><th>MP/s</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>first result ms</th><th>speedup</th><th>backends</th><th>CPU</th><th>peak MB</th></tr>\n"
        for mode in report.modes {
            let cells = [
                BenchTable.withRange(mode.imagesPerSecond, digits: 1), BenchTable.number(mode.megapixelsPerSecond.median, digits: 1),
                BenchTable.number(mode.latencyMs.p50.median, digits: 0), BenchTable.number(mode.latencyMs.p95.median, digits: 0),
                BenchTable.number(mode.latencyMs.p99.median, digits: 0), BenchTable.withRange(mode.timeToFirstResultMs, digits: 0),
                mode.speedupOverSequential.map { format($0, 2) + "x" } ?? "-", BenchTable.backends(mode),
                mode.cpuUtilisation.map { format($0.median, 2) } ?? "-",
                mode.peakMemoryBytes.map { format(Double($0) / 1_048_576, 0) } ?? "-",
            ]
            html += "<tr><td>\(escape(mode.label))</td>" + cells.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n"
        }
        html += "</table>\n"
        if !report.comparisons.isEmpty {
            html +=
                "<ul>" + report.comparisons.sorted { $0.key < $1.key }.map { "<li><code>\($0.key)</code>: \(format($0.value, 2))</li>" }.joined()
                + "</ul>\n"
        }
        return html
    }

    // MARK: Charts

    private static func throughputByMode(_ report: BenchReport) -> String {
        let modes = report.modes.filter { $0.imagesPerSecond.max.isFinite }
        let rowHeight = 24.0
        let left = 300.0
        let right = 40.0
        let top = 10.0
        let bottom = 40.0
        let width = 900.0
        let height = top + bottom + rowHeight * Double(max(modes.count, 1))
        let axis = NiceAxis(maximum: modes.map(\.imagesPerSecond.max).max() ?? 1)
        func x(_ value: Double) -> Double { left + (width - left - right) * value / axis.maximum }
        var svg = svgOpen(id: "throughput-by-mode", width: width, height: height, title: "Throughput by mode (images/s)")
        svg += xAxis(axis, y: height - bottom, x: x, top: top, label: "images/s")
        for (index, mode) in modes.enumerated() {
            let y = top + rowHeight * Double(index)
            let colour = palette[index % palette.count]
            svg += "<text x=\"\(f(left - 8))\" y=\"\(f(y + rowHeight * 0.65))\" text-anchor=\"end\">\(escape(mode.label))</text>"
            svg +=
                "<rect x=\"\(f(left))\" y=\"\(f(y + 4))\" width=\"\(f(x(mode.imagesPerSecond.median) - left))\" height=\"\(f(rowHeight - 8))\" fill=\"\(colour)\"><title>\(escape(mode.label)): \(format(mode.imagesPerSecond.median, 1)) images/s</title></rect>"
            let middle = y + rowHeight / 2
            svg +=
                "<line x1=\"\(f(x(mode.imagesPerSecond.min)))\" x2=\"\(f(x(mode.imagesPerSecond.max)))\" y1=\"\(f(middle))\" y2=\"\(f(middle))\" stroke=\"#000\"/>"
            svg += "<text x=\"\(f(x(mode.imagesPerSecond.max) + 4))\" y=\"\(f(middle + 4))\">\(format(mode.imagesPerSecond.median, 1))</text>"
        }
        return svg + "</svg>\n"
    }

    private static func throughputAgainstWorkers(_ report: BenchReport) -> String {
        // One series per backend (and one for raw libvips): the sweep's points,
        // plus the sequential mode at one worker where there is no sweep point there.
        var series: [(name: String, points: [(workers: Int, spread: Spread)])] = []
        var names: [String] = []
        for mode in report.modes where mode.role == "sweep" {
            let name = mode.kind == "libvips" ? "raw libvips (threads)" : "calotype \(mode.backend ?? "auto")"
            if !names.contains(name) { names.append(name) }
        }
        guard !names.isEmpty else {
            return "<p class=\"note\" id=\"throughput-vs-workers\">No sweep in this run (<code>--sweep 1,2,3,4</code> adds one).</p>\n"
        }
        for name in names {
            let points = report.modes.filter { mode in
                mode.role == "sweep" && (mode.kind == "libvips" ? "raw libvips (threads)" : "calotype \(mode.backend ?? "auto")") == name
            }.compactMap { mode in mode.workers.map { ($0, mode.imagesPerSecond) } }.sorted { $0.0 < $1.0 }
            series.append((name, points))
        }
        let left = 70.0
        let right = 200.0
        let top = 20.0
        let bottom = 45.0
        let width = 900.0
        let height = 400.0
        let allWorkers = series.flatMap { $0.points.map(\.workers) }
        let minWorkers = Double(allWorkers.min() ?? 1)
        let maxWorkers = Double(max(allWorkers.max() ?? 1, (allWorkers.min() ?? 1) + 1))
        let axis = NiceAxis(maximum: series.flatMap { $0.points.map(\.spread.max) }.max() ?? 1)
        func x(_ workers: Double) -> Double { left + (width - left - right) * (workers - minWorkers) / (maxWorkers - minWorkers) }
        func y(_ value: Double) -> Double { height - bottom - (height - top - bottom) * value / axis.maximum }
        var svg = svgOpen(id: "throughput-vs-workers", width: width, height: height, title: "Throughput against workers, per backend")
        svg += yAxis(axis, x: left, y: y, right: width - right, label: "images/s")
        for workers in Set(allWorkers).sorted() {
            svg += "<text x=\"\(f(x(Double(workers))))\" y=\"\(f(height - bottom + 16))\" text-anchor=\"middle\">\(workers)</text>"
        }
        svg +=
            "<text x=\"\(f((left + width - right) / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\">workers (calotype) / threads (raw libvips)</text>"
        for (index, line) in series.enumerated() {
            let colour = palette[index % palette.count]
            let path = line.points.map { "\(f(x(Double($0.workers)))),\(f(y($0.spread.median)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(path)\"/>"
            for point in line.points {
                let px = x(Double(point.workers))
                svg +=
                    "<line x1=\"\(f(px))\" x2=\"\(f(px))\" y1=\"\(f(y(point.spread.min)))\" y2=\"\(f(y(point.spread.max)))\" stroke=\"\(colour)\"/>"
                svg +=
                    "<circle cx=\"\(f(px))\" cy=\"\(f(y(point.spread.median)))\" r=\"4\" fill=\"\(colour)\"><title>\(escape(line.name)), \(point.workers): \(format(point.spread.median, 1)) images/s</title></circle>"
            }
            svg += legend(index: index, name: line.name, colour: colour, x: width - right + 15, top: top)
        }
        return svg + "</svg>\n"
    }

    private static func latencyDistribution(_ report: BenchReport) -> String {
        let modes = report.modes.filter { $0.latencyPercentilesMs.count == 101 }
        let left = 70.0
        let right = 260.0
        let top = 20.0
        let bottom = 45.0
        let width = 900.0
        let height = 420.0
        // The x axis ends past the largest p99, so one slow outlier does not squash the rest.
        let axis = NiceAxis(maximum: modes.map { $0.latencyPercentilesMs[99] }.max() ?? 1)
        func x(_ value: Double) -> Double { left + (width - left - right) * min(value, axis.maximum) / axis.maximum }
        func y(_ percent: Double) -> Double { height - bottom - (height - top - bottom) * percent / 100 }
        var svg = svgOpen(id: "latency-distribution", width: width, height: height, title: "Latency distribution (cumulative)")
        svg += xAxis(axis, y: height - bottom, x: x, top: top, label: "latency, ms")
        for percent in stride(from: 0.0, through: 100, by: 25) {
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y(percent) + 4))\" text-anchor=\"end\">\(Int(percent))%</text>"
            svg += "<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(y(percent)))\" y2=\"\(f(y(percent)))\" stroke=\"#eee\"/>"
        }
        for (index, mode) in modes.enumerated() {
            let colour = palette[index % palette.count]
            let points = mode.latencyPercentilesMs.enumerated().map { "\(f(x($0.element))),\(f(y(Double($0.offset))))" }.joined(separator: " ")
            svg +=
                "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(points)\"><title>\(escape(mode.label))</title></polyline>"
            svg += legend(index: index, name: mode.label, colour: colour, x: width - right + 15, top: top)
        }
        return svg + "</svg>\n"
    }

    // MARK: Drawing

    /// An axis from 0 to a round number at or above the data's maximum, with 4-6 ticks.
    struct NiceAxis {
        let maximum: Double
        let step: Double

        init(maximum data: Double) {
            let value = data.isFinite && data > 0 ? data : 1
            let magnitude = pow(10, floor(log10(value / 5)))
            let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { value / $0 <= 6 } ?? 10 * magnitude
            self.step = step
            self.maximum = ceil(value / step) * step
        }

        var ticks: [Double] { stride(from: 0, through: maximum + step / 2, by: step).map { $0 } }
    }

    private static func svgOpen(id: String, width: Double, height: Double, title: String) -> String {
        "<svg id=\"\(id)\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\"><title>\(escape(title))</title>"
    }

    private static func xAxis(_ axis: NiceAxis, y: Double, x: (Double) -> Double, top: Double, label: String) -> String {
        var svg = "<line x1=\"\(f(x(0)))\" x2=\"\(f(x(axis.maximum)))\" y1=\"\(f(y))\" y2=\"\(f(y))\" stroke=\"#333\"/>"
        for tick in axis.ticks {
            svg += "<line x1=\"\(f(x(tick)))\" x2=\"\(f(x(tick)))\" y1=\"\(f(top))\" y2=\"\(f(y))\" stroke=\"#eee\"/>"
            svg +=
                "<text x=\"\(f(x(tick)))\" y=\"\(f(y + 16))\" text-anchor=\"middle\">\(format(tick, tick < 10 && tick != tick.rounded() ? 1 : 0))</text>"
        }
        return svg + "<text x=\"\(f((x(0) + x(axis.maximum)) / 2))\" y=\"\(f(y + 34))\" text-anchor=\"middle\">\(escape(label))</text>"
    }

    private static func yAxis(_ axis: NiceAxis, x: Double, y: (Double) -> Double, right: Double, label: String) -> String {
        var svg = "<line x1=\"\(f(x))\" x2=\"\(f(x))\" y1=\"\(f(y(0)))\" y2=\"\(f(y(axis.maximum)))\" stroke=\"#333\"/>"
        for tick in axis.ticks {
            svg += "<line x1=\"\(f(x))\" x2=\"\(f(right))\" y1=\"\(f(y(tick)))\" y2=\"\(f(y(tick)))\" stroke=\"#eee\"/>"
            svg +=
                "<text x=\"\(f(x - 6))\" y=\"\(f(y(tick) + 4))\" text-anchor=\"end\">\(format(tick, tick < 10 && tick != tick.rounded() ? 1 : 0))</text>"
        }
        return svg + "<text transform=\"translate(16 \(f((y(0) + y(axis.maximum)) / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(label))</text>"
    }

    private static func legend(index: Int, name: String, colour: String, x: Double, top: Double) -> String {
        let y = top + 18 * Double(index)
        return
            "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"12\" height=\"12\" fill=\"\(colour)\"/><text x=\"\(f(x + 18))\" y=\"\(f(y + 10))\">\(escape(name))</text>"
    }

    private static func f(_ value: Double) -> String { String(format: "%.1f", value.isFinite ? value : 0) }

    private static func format(_ value: Double, _ digits: Int) -> String {
        value.isFinite ? String(format: "%.\(digits)f", value) : "-"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
