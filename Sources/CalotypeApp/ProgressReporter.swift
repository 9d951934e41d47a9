import Foundation

/// A one-line progress bar on standard error when it is a terminal, and the
/// per-file error lines (always), which must not be torn by the bar.
package final class ProgressReporter {
    private let total: Int
    private let showsBar: Bool
    private var done = 0
    private var failed = 0
    private let start = ContinuousClock.now

    package init(total: Int, enabled: Bool) {
        self.total = total
        self.showsBar = enabled && isatty(STDERR_FILENO) != 0
    }

    /// Counts one image; `failure` is the message of one that failed.
    package func record(failure: String?) {
        done += 1
        if let failure {
            failed += 1
            write(clearLine + "error: \(failure)\n")
        }
        drawBar()
    }

    package func finish() {
        if showsBar { write(clearLine) }
    }

    private var clearLine: String { showsBar ? "\r\u{1B}[2K" : "" }

    private func drawBar() {
        guard showsBar else { return }
        let width = 30
        let filled = total > 0 ? done * width / total : width
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let failures = failed > 0 ? ", \(failed) failed" : ""
        write("\r[\(bar)] \(done)/\(total) \(String(format: "%.1f", rate)) images/s\(failures)")
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
