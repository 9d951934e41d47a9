import Backends
import Foundation
import NIOPosix
import Synchronization

/// Runs a work list through a backend, a bounded number of files at a time.
/// File reads and writes run on the thread pool too: they block.
struct BatchRunner: Sendable {
    enum Outcome: Sendable {
        case written(input: URL, output: URL, result: ProcessedImage)
        case failed(input: URL, message: String)
    }

    let backend: LibvipsBackend
    let recipe: Recipe
    let pool: NIOThreadPool
    let concurrency: Int

    /// Processes every item; `report` sees each outcome as it happens, on the calling task.
    func run(_ work: WorkList, report: (Outcome) -> Void) async -> BatchSummary {
        let claimed = OutputClaims()
        var summary = BatchSummary()
        await withTaskGroup(of: Outcome.self) { group in
            var pending = work.items[...]
            for _ in 0..<concurrency {
                guard let item = pending.popFirst() else { break }
                group.addTask { await process(item, claimed: claimed) }
            }
            while let outcome = await group.next() {
                summary.add(outcome)
                report(outcome)
                if let item = pending.popFirst() {
                    group.addTask { await process(item, claimed: claimed) }
                }
            }
        }
        return summary
    }

    private func process(_ item: WorkList.Item, claimed: OutputClaims) async -> Outcome {
        do {
            let bytes = try await pool.runIfActive { try [UInt8](Data(contentsOf: item.input)) }
            let result = try await backend.process(ImageInput(bytes: bytes, name: item.input.lastPathComponent), recipe: recipe)
            let output = item.isExactFile ? item.outputBase : item.outputBase.appendingPathExtension(result.format.fileExtension)
            if let previous = claimed.claim(output, for: item.input) {
                return .failed(input: item.input, message: "its output \(output.path) is already taken by \(previous.path)")
            }
            try await pool.runIfActive {
                try FileManager.default.createDirectory(at: output.deletingLastPathComponent(), withIntermediateDirectories: true)
                // Written to a temporary file and renamed: a failure leaves no partial output.
                try Data(result.bytes).write(to: output, options: .atomic)
            }
            return .written(input: item.input, output: output, result: result)
        } catch let error as ProcessingError {
            return .failed(input: item.input, message: error.description)
        } catch let error as CocoaError {
            return .failed(input: item.input, message: error.localizedDescription)
        } catch {
            return .failed(input: item.input, message: "\(error)")
        }
    }
}

/// Which input wrote which output, so that two inputs (a.jpg, a.png) never
/// silently overwrite each other's result.
final class OutputClaims: Sendable {
    private let owners = Mutex<[String: URL]>([:])

    /// Claims `output` for `input`; returns the input that already holds it, if any.
    func claim(_ output: URL, for input: URL) -> URL? {
        owners.withLock { owners in
            if let owner = owners[output.path] { return owner }
            owners[output.path] = input
            return nil
        }
    }
}

/// Counts for the closing line.
struct BatchSummary {
    var succeeded = 0
    var failed = 0
    var megapixelsOut = 0.0

    mutating func add(_ outcome: BatchRunner.Outcome) {
        switch outcome {
        case .written(_, _, let result):
            succeeded += 1
            megapixelsOut += Double(result.width * result.height) / 1_000_000
        case .failed:
            failed += 1
        }
    }

    func print(elapsed: Duration) {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let total = succeeded + failed
        let rate = seconds > 0 ? Double(succeeded) / seconds : 0
        var line = "\(total) image\(total == 1 ? "" : "s") in \(String(format: "%.2f", seconds)) s"
        line += String(format: ", %.1f images/s", rate)
        if failed > 0 { line += "; \(failed) failed" }
        Swift.print(line)
    }
}
