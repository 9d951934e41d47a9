/// Runs `run` for each of `indices`, in their order, at most `width` at a
/// time: a sliding window, where the next starts as soon as one ends. Each
/// outcome goes to `finished` on the calling task, one at a time, in the
/// order they end; `finished` returns false to start no more (those running
/// still end and are reported). A cancelled caller starts no more either.
///
/// The one loop behind the scheduler's batch runner, a cluster's staging of
/// uploads and the benchmark's HTTP clients.
///
/// - Returns: the indices never started, in their order.
public func runSlidingWindow<Output: Sendable>(
    over indices: [Int],
    width: Int,
    _ run: @escaping @Sendable (Int) async -> Output,
    finished: (_ index: Int, _ output: Output) async -> Bool
) async -> [Int] {
    var pending = indices[...]
    var goOn = true
    await withTaskGroup(of: (Int, Output).self) { group in
        func startNext() {
            guard goOn, !Task.isCancelled, let index = pending.popFirst() else { return }
            group.addTask { (index, await run(index)) }
        }
        for _ in 0..<max(1, width) { startNext() }
        while let (index, output) = await group.next() {
            if await !finished(index, output) { goOn = false }
            startNext()
        }
    }
    return Array(pending)
}
