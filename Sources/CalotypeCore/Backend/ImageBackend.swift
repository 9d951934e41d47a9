/// Something that turns encoded images into processed, encoded images: the
/// libvips CPU backend, an OpenCL device, or a scheduler test's fake.
///
/// The scheduler knows backends only through this protocol. Implementations
/// must not block the caller's thread: blocking work (libvips, OpenCL, file
/// I/O) runs on threads the backend is given, never on Swift's cooperative
/// pool, which has only one thread per core.
public protocol ImageBackend: Sendable {
    /// A stable name for logs, headers and statistics (`libvips`, `opencl:0`).
    var name: String { get }
    var kind: BackendKind { get }
    /// The hardware it runs on, for health reports (`cpu`, a GPU's name).
    var device: String { get }
    /// The operations this backend can run at all.
    var supportedOperations: Set<OperationKind> { get }

    /// Whether this backend can run `recipe` exactly as the CPU backend
    /// would. A backend that cannot say no to an option (an unsupported
    /// gravity, say) must say so here, never approximate it.
    func supports(_ recipe: Recipe) -> BackendSupport

    /// Whether an image of `size` fits the device (its largest allocation,
    /// its free memory). A backend that says no is not chosen for the job.
    func canHold(_ size: ImageSize) -> Bool

    /// Decodes `input`, runs `recipe` and encodes the result.
    func process(_ input: ImageInput, recipe: Recipe) async throws(ProcessingError) -> ProcessedImage
}

extension ImageBackend {
    /// The default: supported when every operation kind is.
    public func supports(_ recipe: Recipe) -> BackendSupport {
        let missing = recipe.operationKinds.subtracting(supportedOperations)
        guard missing.isEmpty else {
            return .unsupported("\(name) cannot run \(missing.sorted().map(\.rawValue).joined(separator: ", "))")
        }
        return .supported
    }

    public var device: String { kind == .cpu ? "cpu" : name }

    /// The default: any size the input limits let through.
    public func canHold(_ size: ImageSize) -> Bool { true }
}

/// Where a backend computes, which is what placement cares about.
public enum BackendKind: String, Sendable, Hashable, Codable {
    case cpu, gpu
}

/// A backend's answer to "can you run this recipe?".
public enum BackendSupport: Hashable, Sendable {
    case supported
    /// The reason is for logs and for a caller who asked for this backend.
    case unsupported(String)

    public var isSupported: Bool { self == .supported }
}
