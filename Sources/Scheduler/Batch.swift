import CalotypeCore


/// One item of a batch as it finishes.
public struct BatchItemResult: Sendable {
    /// The item's position in the batch, from 0.
    public var index: Int
    public var name: String?
    public var outcome: Result<JobResult, SchedulerError>

    public init(index: Int, name: String?, outcome: Result<JobResult, SchedulerError>) {
        self.index = index
        self.name = name
        self.outcome = outcome
    }
}

extension Scheduler {
    /// Processes `inputs` with one recipe, at most `parallelism` at a time
    /// (1: one after another), and yields each result as it finishes, in
    /// completion order. With several at a time, items start in `BatchOrder`
    /// (the smallest, then the largest first) so that the workers finish together. Items are batch priority and share the lanes with
    /// other batches in turn. Ending the iteration early cancels the rest.
    public nonisolated func batch(
        _ inputs: [ImageInput], recipe: Recipe, parallelism: Int, placement: Placement = .auto, strictPlacement: Bool = false,
        onStarted: (@Sendable (_ index: Int, _ lane: String) -> Void)? = nil
    ) -> AsyncStream<BatchItemResult> {
        let (stream, continuation) = AsyncStream.makeStream(of: BatchItemResult.self)
        let task = Task {
            let batch = await self.makeBatchID()
            await withTaskGroup(of: BatchItemResult.self) { group in
                var pending = BatchOrder.indices(of: inputs, parallelism: parallelism).makeIterator()
                func startNext() -> Bool {
                    guard let index = pending.next() else { return false }
                    let input = inputs[index]
                    var request = JobRequest(
                        input: input, recipe: recipe, placement: placement, strictPlacement: strictPlacement,
                        priority: .batch, batch: batch)
                    if let onStarted {
                        request.onStarted = { @Sendable lane in onStarted(index, lane) }
                    }
                    group.addTask {
                        let outcome: Result<JobResult, SchedulerError>
                        do throws(SchedulerError) {
                            outcome = .success(try await self.submit(request))
                        } catch {
                            outcome = .failure(error)
                        }
                        return BatchItemResult(index: index, name: input.name, outcome: outcome)
                    }
                    return true
                }
                for _ in 0..<max(1, parallelism) where !startNext() { break }
                while let result = await group.next() {
                    continuation.yield(result)
                    _ = startNext()
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
