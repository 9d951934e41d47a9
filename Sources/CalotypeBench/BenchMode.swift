import Scheduler

/// One way of running the images through, as the report names it.
struct BenchMode: Sendable, Hashable {
    /// Who does the work: Calotype's engine in this process, libvips called
    /// directly (the raw baseline), or a Calotype server over HTTP.
    enum Kind: String, Sendable, Codable {
        case calotype, libvips, http
    }

    /// How the images are fed.
    enum Role: String, Sendable, Codable {
        /// One image at a time.
        case sequential
        /// The default number of workers (or threads), kept busy.
        case parallel
        /// A given number of workers (or threads), kept busy.
        case sweep
        /// `POST /process-batch`: one request, one JSON answer.
        case batch
        /// `POST /process-batch-stream`: one request, results as events, one item at a time.
        case stream
        /// `POST /process-batch-fast`: one request, results as events, items in parallel.
        case fast
        /// `POST /process`: one request per image, from a number of concurrent clients.
        case process
    }

    var kind: Kind
    var role: Role
    /// Where jobs were asked to run (Calotype and HTTP modes).
    var backend: Placement?
    /// Engine workers of the lanes that `backend` uses (Calotype), or threads (libvips).
    var workers: Int?
    /// Images in flight at once.
    var inFlight: Int?
    /// The HTTP endpoint.
    var endpoint: String?
    /// Concurrent HTTP clients (`/process`).
    var clients: Int?

    /// A stable identifier for machines: `calotype.parallel.auto`,
    /// `calotype.sweep.cpu.3`, `libvips.parallel`, `libvips.sweep.3`,
    /// `http.process-batch-fast`, `http.process.2`.
    var id: String {
        switch kind {
        case .calotype:
            let base = "calotype.\(role.rawValue).\(backend?.rawValue ?? "auto")"
            return role == .sweep ? "\(base).\(workers ?? 0)" : base
        case .libvips:
            return role == .sweep ? "libvips.sweep.\(workers ?? 0)" : "libvips.\(role.rawValue)"
        case .http:
            let path = (endpoint ?? "").drop { $0 == "/" }
            return clients.map { "http.\(path).\($0)" } ?? "http.\(path)"
        }
    }

    /// For people: `parallel (auto, 2 workers)`, `raw libvips, 2 threads`, `/process x 2 clients`.
    var label: String {
        switch kind {
        case .calotype:
            let workersText = workers.map { ", \($0) worker\($0 == 1 ? "" : "s")" } ?? ""
            return "\(role.rawValue) (\(backend?.rawValue ?? "auto")\(role == .sequential ? "" : workersText))"
        case .libvips:
            let threads = workers ?? 1
            return "raw libvips \(role.rawValue) (\(threads) thread\(threads == 1 ? "" : "s"))"
        case .http:
            if let clients {
                let count = clients
                return "POST /process (\(count) client\(count == 1 ? "" : "s"))"
            }
            return "POST \(endpoint ?? "")"
        }
    }
}

/// A mode and how to run one round of it; `tick` is called once per image
/// as it finishes (for the progress bar), with the failure's message if any.
struct ModeRunner {
    var mode: BenchMode
    var round: (_ tick: (_ failure: String?) -> Void) async throws -> RoundSample
}
