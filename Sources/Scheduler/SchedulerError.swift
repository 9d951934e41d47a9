import CalotypeCore

/// Why the scheduler did not return a result. The HTTP layer maps each case
/// to a status (overloaded: 503 with Retry-After).
public enum SchedulerError: Error, Sendable, CustomStringConvertible {
    /// The queue is full; try again after `retryAfter`.
    case overloaded(retryAfter: Duration)
    /// No lane can run the job and placement was strict (or no lane at all
    /// supports the recipe).
    case noUsableBackend(String)
    /// The job did not finish within its deadline and was stopped.
    case deadlineExceeded(Duration)
    /// The caller cancelled the job.
    case cancelled
    /// The scheduler is shutting down and takes no new work.
    case shutDown
    /// The job ran and failed.
    case failed(ProcessingError)
    /// The job's input could not be had (a batch item's file that cannot be
    /// read); nothing ran.
    case inputUnavailable(String)
    /// The job's input, given by reference, could not be fetched; nothing ran.
    case sourceFailed(SourceError)

    /// Whether the job was stopped because its caller cancelled it (not a
    /// failure of the input or a backend).
    public var isCancellation: Bool {
        switch self {
        case .cancelled: true
        case .failed(let error): error.code == .cancelled
        default: false
        }
    }

    /// A stable, machine-readable code.
    public var code: String {
        switch self {
        case .overloaded: "overloaded"
        case .noUsableBackend: "no_usable_backend"
        case .deadlineExceeded: "deadline_exceeded"
        case .cancelled: "cancelled"
        case .shutDown: "shutting_down"
        case .failed(let error): error.code.rawValue
        case .inputUnavailable: "input_unavailable"
        case .sourceFailed(let error): error.code.rawValue
        }
    }

    public var description: String {
        switch self {
        case .overloaded(let delay): "overloaded: the queue is full; retry in \(delay.formattedSeconds)"
        case .noUsableBackend(let reason): "no_usable_backend: \(reason)"
        case .deadlineExceeded(let deadline): "deadline_exceeded: the job did not finish within \(deadline.formattedSeconds)"
        case .cancelled: "cancelled: the job was cancelled"
        case .shutDown: "shutting_down: the scheduler takes no new work"
        case .failed(let error): error.description
        case .inputUnavailable(let reason): "input_unavailable: \(reason)"
        case .sourceFailed(let error): "\(error.code.rawValue): \(error)"
        }
    }
}

extension Duration {
    /// Seconds as a Double, for arithmetic and JSON.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    var formattedSeconds: String {
        let value = seconds
        return value == value.rounded() ? "\(Int(value)) s" : "\((value * 1000).rounded() / 1000) s"
    }
}
