import DequeModule

/// A lane's waiting jobs: interactive jobs first, in arrival order; then batch
/// items, one from each waiting batch in turn, so that a long batch cannot
/// starve a short one that arrives after it.
struct FairQueue<Element> {
    private var interactive = Deque<Element>()
    private var batches: [BatchID: Deque<Element>] = [:]
    /// Batches with waiting items, in the order they take their next turn.
    private var turns = Deque<BatchID>()
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func append(_ element: Element, priority: Priority, batch: BatchID?) {
        count += 1
        guard priority == .batch else {
            interactive.append(element)
            return
        }
        let id = batch ?? BatchID(0)
        if batches[id, default: []].isEmpty { turns.append(id) }
        batches[id, default: []].append(element)
    }

    mutating func popFirst() -> Element? {
        if let element = interactive.popFirst() {
            count -= 1
            return element
        }
        guard let id = turns.popFirst(), var items = batches[id], let element = items.popFirst() else { return nil }
        count -= 1
        if items.isEmpty {
            batches[id] = nil
        } else {
            batches[id] = items
            turns.append(id)
        }
        return element
    }

    /// Removes and returns the first element matching `predicate`.
    mutating func remove(where predicate: (Element) -> Bool) -> Element? {
        if let index = interactive.firstIndex(where: predicate) {
            count -= 1
            return interactive.remove(at: index)
        }
        for id in turns {
            guard var items = batches[id], let index = items.firstIndex(where: predicate) else { continue }
            let element = items.remove(at: index)
            count -= 1
            if items.isEmpty {
                batches[id] = nil
                turns.removeAll { $0 == id }
            } else {
                batches[id] = items
            }
            return element
        }
        return nil
    }

    /// Empties the queue, returning everything in it.
    mutating func removeAll() -> [Element] {
        var all: [Element] = []
        while let element = popFirst() { all.append(element) }
        return all
    }
}
