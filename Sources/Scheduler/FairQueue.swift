import DequeModule

/// A lane's waiting jobs, taken in turns at two levels. Tenants first: the
/// next job is the tenant's whose last job started longest ago (a tenant
/// that has never started one goes first), so that one tenant's 10,000
/// items delay another's job by at most the jobs already running. Within a
/// tenant, its single images go first, in arrival order, then its batches'
/// items, one from each batch in turn, so that a long batch cannot starve a
/// short one that arrives after it.
struct FairQueue<Element> {
    /// One tenant's waiting jobs.
    private struct TenantQueue {
        var interactive = Deque<Element>()
        var batches: [BatchID: Deque<Element>] = [:]
        /// Batches with waiting items, in the order they take their next turn.
        var turns = Deque<BatchID>()

        var isEmpty: Bool { interactive.isEmpty && turns.isEmpty }

        mutating func append(_ element: Element, priority: Priority, batch: BatchID?) {
            guard priority == .batch else {
                interactive.append(element)
                return
            }
            let id = batch ?? BatchID(0)
            if batches[id, default: []].isEmpty { turns.append(id) }
            batches[id, default: []].append(element)
        }

        mutating func popFirst() -> Element? {
            if let element = interactive.popFirst() { return element }
            guard let id = turns.popFirst(), var items = batches[id], let element = items.popFirst() else { return nil }
            if items.isEmpty {
                batches[id] = nil
            } else {
                batches[id] = items
                turns.append(id)
            }
            return element
        }

        mutating func remove(where predicate: (Element) -> Bool) -> Element? {
            if let index = interactive.firstIndex(where: predicate) { return interactive.remove(at: index) }
            for id in turns {
                guard var items = batches[id], let index = items.firstIndex(where: predicate) else { continue }
                let element = items.remove(at: index)
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
    }

    private var tenants: [String: TenantQueue] = [:]
    /// Tenants with waiting jobs, in the order they take their next turn.
    private var turns = Deque<String>()
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    mutating func append(_ element: Element, priority: Priority, batch: BatchID?, tenant: String = "") {
        count += 1
        if tenants[tenant] == nil { turns.append(tenant) }
        tenants[tenant, default: TenantQueue()].append(element, priority: priority, batch: batch)
    }

    /// The next job of the tenant whose `lastStart` is least (the
    /// scheduler's count of started jobs when its last one started; 0:
    /// never), ties going to the tenant that queued first; that tenant's
    /// turn then goes to the back.
    mutating func popFirst(lastStart: (String) -> UInt64 = { _ in 0 }) -> Element? {
        var chosen: (position: Int, lastStart: UInt64)?
        for (position, tenant) in turns.enumerated() {
            let started = lastStart(tenant)
            if let best = chosen, best.lastStart <= started { continue }
            chosen = (position, started)
        }
        guard let position = chosen?.position else { return nil }
        let tenant = turns.remove(at: position)
        guard var queue = tenants[tenant], let element = queue.popFirst() else {
            tenants[tenant] = nil
            return nil
        }
        count -= 1
        if queue.isEmpty {
            tenants[tenant] = nil
        } else {
            tenants[tenant] = queue
            turns.append(tenant)
        }
        return element
    }

    /// Removes and returns the first element matching `predicate`.
    mutating func remove(where predicate: (Element) -> Bool) -> Element? {
        for tenant in turns {
            guard var queue = tenants[tenant], let element = queue.remove(where: predicate) else { continue }
            count -= 1
            if queue.isEmpty {
                tenants[tenant] = nil
                turns.removeAll { $0 == tenant }
            } else {
                tenants[tenant] = queue
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
