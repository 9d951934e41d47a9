import CalotypeCore

/// Where a caller wants a job to run.
public enum Placement: String, Sendable, Hashable, Codable, CaseIterable {
    /// Wherever it is expected to finish first.
    case auto
    /// On a CPU lane.
    case cpu
    /// On a GPU lane; on the CPU, marked as a fallback, when no GPU can take it
    /// (unless placement is strict).
    case gpu
}

/// Which jobs go first when a lane is busy.
public enum Priority: String, Sendable, Hashable, Codable {
    /// A single image someone is waiting for: ahead of every batch item.
    case interactive
    /// One item of a batch: batches take turns, item by item.
    case batch
}

/// Identifies the batch a job belongs to, so that batches share lanes fairly.
public struct BatchID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    public var description: String { "batch-\(rawValue)" }
}

/// Whom a job is for: tenants take turns for each lane's workers before
/// batches do within a tenant, and a tenant runs at most `maxInFlight` jobs
/// at once, across every lane.
public struct JobTenant: Hashable, Sendable {
    /// The tenant's name (an API key's `name`); jobs without a tenant share one.
    public var name: String
    public var maxInFlight: Int?

    public init(name: String, maxInFlight: Int? = nil) {
        self.name = name
        self.maxInFlight = maxInFlight
    }

    /// Jobs submitted without a tenant: one open server's callers.
    public static let shared = JobTenant(name: "")
}

/// One image to process and how the caller wants it scheduled.
public struct JobRequest: Sendable {
    public var input: ImageInput
    public var recipe: Recipe
    public var placement: Placement
    /// When true, `placement` is a requirement: no fallback to another kind of lane.
    public var strictPlacement: Bool
    public var priority: Priority
    /// The batch this job belongs to (batch priority only).
    public var batch: BatchID?
    /// Whom it is for.
    public var tenant: JobTenant
    /// Overrides the scheduler's default deadline.
    public var deadline: Duration?
    /// Called when a worker first takes the job (for progress streams), once:
    /// a retry on the CPU after a device fault is the same job. Keep it cheap.
    public var onStarted: (@Sendable (_ lane: String) -> Void)?

    public init(
        input: ImageInput,
        recipe: Recipe,
        placement: Placement = .auto,
        strictPlacement: Bool = false,
        priority: Priority = .interactive,
        batch: BatchID? = nil,
        tenant: JobTenant = .shared,
        deadline: Duration? = nil,
        onStarted: (@Sendable (_ lane: String) -> Void)? = nil
    ) {
        self.tenant = tenant
        self.onStarted = onStarted
        self.input = input
        self.recipe = recipe
        self.placement = placement
        self.strictPlacement = strictPlacement
        self.priority = priority
        self.batch = batch
        self.deadline = deadline
    }
}

/// A finished job: the image and where and how it ran.
public struct JobResult: Sendable {
    public var image: ProcessedImage
    /// The lane that produced it (its backend's name).
    public var lane: String
    public var kind: BackendKind
    /// True when the job ran somewhere other than the caller asked: a `gpu`
    /// job on the CPU, or a job retried on the CPU after a device fault.
    public var fallback: Bool
    /// True when a first attempt failed on a device and this is the retry.
    public var retried: Bool
    /// Time spent waiting for a worker.
    public var queueWait: Duration
    /// Time from a worker taking the job to its result.
    public var serviceTime: Duration
}
