import CalotypeApp
import CalotypeCore
import CalotypeLibvips
import CalotypeOpenCL
import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import Scheduler

/// Runs a work list through the scheduler, a bounded number of files at a
/// time (enough to keep every lane fed while files are read and written).
/// File reads and writes block, so they run on NIO's blocking-I/O pool.
struct BatchRunner: Sendable {
    enum Outcome: Sendable {
        case written(input: URL, output: URL, result: JobResult)
        case failed(input: URL, message: String)
    }

    let scheduler: Scheduler
    let recipe: Recipe
    let placement: Placement
    let concurrency: Int
    let batch: BatchID
    private let files = NIOThreadPool.singleton

    init(scheduler: Scheduler, recipe: Recipe, placement: Placement, concurrency: Int, batch: BatchID) {
        self.scheduler = scheduler
        self.recipe = recipe
        self.placement = placement
        self.concurrency = concurrency
        self.batch = batch
    }

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
            let bytes = try await files.runIfActive { try [UInt8](Data(contentsOf: item.input)) }
            let request = JobRequest(
                input: ImageInput(bytes: bytes, name: item.input.lastPathComponent), recipe: recipe,
                placement: placement, priority: .batch, batch: batch)
            let result = try await scheduler.submit(request)
            let output = item.isExactFile ? item.outputBase : item.outputBase.appendingPathExtension(result.image.format.fileExtension)
            if let previous = claimed.claim(output, for: item.input) {
                return .failed(input: item.input, message: "its output \(output.path) is already taken by \(previous.path)")
            }
            try await files.runIfActive {
                try FileManager.default.createDirectory(at: output.deletingLastPathComponent(), withIntermediateDirectories: true)
                // Written to a temporary file and renamed: a failure leaves no partial output.
                try Data(result.image.bytes).write(to: output, options: .atomic)
            }
            return .written(input: item.input, output: output, result: result)
        } catch let error as SchedulerError {
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
    private let owners = NIOLockedValueBox<[String: URL]>([:])

    /// Claims `output` for `input`; returns the input that already holds it, if any.
    func claim(_ output: URL, for input: URL) -> URL? {
        owners.withLockedValue { owners in
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
    var fallbacks = 0
    var lanes: [String: Int] = [:]

    mutating func add(_ outcome: BatchRunner.Outcome) {
        switch outcome {
        case .written(_, _, let result):
            succeeded += 1
            lanes[result.lane, default: 0] += 1
            if result.fallback { fallbacks += 1 }
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
        if !lanes.isEmpty {
            line += " (" + lanes.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            line += fallbacks > 0 ? ", \(fallbacks) fallback)" : ")"
        }
        if failed > 0 { line += "; \(failed) failed" }
        Swift.print(line)
    }
}
