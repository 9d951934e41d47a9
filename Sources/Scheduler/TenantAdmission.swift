import DequeModule

/// Each capped tenant's jobs at once (`JobTenant.maxInFlight`): a job
/// enters before it is placed and leaves when it ends, and past the cap it
/// waits here, in arrival order, outside every lane. Lanes, and so their
/// cost model's backlog, see only admitted jobs: a capped tenant's
/// thousand waiting items never make another tenant's job look slower on
/// a lane with free workers.
struct TenantAdmission {
    private struct Waiter {
        let id: UInt64
        let resume: CheckedContinuation<Bool, Never>
    }

    /// Jobs admitted per capped tenant (waiting for a worker, or running).
    private var admitted: [String: Int] = [:]
    private var waiting: [String: Deque<Waiter>] = [:]
    /// Jobs waiting here, all tenants together (they count toward the
    /// scheduler's queue limit).
    private(set) var waitingCount = 0

    /// Admits the job at once (true), or says it must wait (false).
    mutating func enter(_ tenant: JobTenant) -> Bool {
        guard let cap = tenant.maxInFlight else { return true }
        guard admitted[tenant.name, default: 0] < cap, waiting[tenant.name]?.isEmpty ?? true else { return false }
        admitted[tenant.name, default: 0] += 1
        return true
    }

    mutating func wait(_ tenant: JobTenant, id: UInt64, resume: CheckedContinuation<Bool, Never>) {
        waiting[tenant.name, default: []].append(Waiter(id: id, resume: resume))
        waitingCount += 1
    }

    /// A job of `tenant` ended: the next waiting one is admitted in its place.
    mutating func leave(_ tenant: JobTenant) {
        guard tenant.maxInFlight != nil else { return }
        if var queue = waiting[tenant.name], let next = queue.popFirst() {
            waiting[tenant.name] = queue.isEmpty ? nil : queue
            waitingCount -= 1
            next.resume.resume(returning: true)  // Its slot passes on: `admitted` stays.
            return
        }
        admitted[tenant.name, default: 1] -= 1
        if admitted[tenant.name] == 0 { admitted[tenant.name] = nil }
    }

    /// Takes a cancelled waiting job out, answering it false.
    mutating func withdraw(_ id: UInt64, of tenant: JobTenant) {
        guard var queue = waiting[tenant.name], let index = queue.firstIndex(where: { $0.id == id }) else { return }
        let waiter = queue.remove(at: index)
        waiting[tenant.name] = queue.isEmpty ? nil : queue
        waitingCount -= 1
        waiter.resume.resume(returning: false)
    }

    /// Answers every waiting job false (the scheduler stops).
    mutating func releaseAll() {
        for queue in waiting.values {
            for waiter in queue { waiter.resume.resume(returning: false) }
        }
        waiting = [:]
        waitingCount = 0
    }
}
