import CalotypeCore
import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import Scheduler

/// `calotype process`'s files through the scheduler's batch runner: each
/// file is read when its item starts and its result written before the item
/// counts as done, so a bounded number of images is in memory at once.
/// File reads and writes block, so they run on NIO's blocking-I/O pool.
struct BatchRunner: Sendable {
    enum Outcome: BatchItemOutcome {
        case written(input: URL, output: URL, result: JobResult)
        case failed(input: URL, message: String)

        var end: BatchItemEnd {
            switch self {
            case .written: .succeeded
            case .failed: .failed
            }
        }
    }

    let scheduler: Scheduler
    let plan: BatchPlan
    private static let files = NIOThreadPool.singleton

    init(scheduler: Scheduler, plan: BatchPlan) {
        self.scheduler = scheduler
        self.plan = plan
    }

    /// Processes every item; `report` sees each outcome as it happens, on the calling task.
    func run(_ work: WorkList, report: (Outcome) -> Void) async -> BatchSummary {
        let claimed = OutputClaims()
        var summary = BatchSummary()
        let items = work.items.map { item in
            BatchItem(
                name: item.input.lastPathComponent,
                estimatedMegapixels: ImageInput.estimatedMegapixels(size: nil, encodedBytes: item.bytes)
            ) { () throws(SchedulerError) in LoadedInput(try await Self.read(item.input)) }
        }
        _ = await scheduler.runBatch(
            items,
            plan: plan,
            complete: { index, result in await Self.write(result, of: work.items[index], claimed: claimed) },
            finished: { _, outcome in
                summary.add(outcome)
                report(outcome)
            }
        )
        return summary
    }

    private static func read(_ file: URL) async throws(SchedulerError) -> ImageInput {
        do {
            let bytes = try await files.runIfActive { try [UInt8](Data(contentsOf: file)) }
            return ImageInput(bytes: bytes, name: file.lastPathComponent)
        } catch let error as CocoaError {
            throw .inputUnavailable(error.localizedDescription)
        } catch {
            throw .inputUnavailable("\(error)")
        }
    }

    private static func write(_ result: Result<JobResult, SchedulerError>, of item: WorkList.Item, claimed: OutputClaims) async -> Outcome {
        let job: JobResult
        switch result {
        case .success(let success): job = success
        case .failure(let error): return .failed(input: item.input, message: error.description)
        }
        let output = item.isExactFile ? item.outputBase : item.outputBase.appendingPathExtension(job.image.format.fileExtension)
        if let previous = claimed.claim(output, for: item.input) {
            return .failed(input: item.input, message: "its output \(output.path) is already taken by \(previous.path)")
        }
        do {
            try await files.runIfActive {
                try FileManager.default.createDirectory(at: output.deletingLastPathComponent(), withIntermediateDirectories: true)
                // Written to a temporary file and renamed: a failure leaves no partial output.
                try Data(job.image.bytes).write(to: output, options: .atomic)
            }
            return .written(input: item.input, output: output, result: job)
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
