import CVips

/// Memory GLib allocated for us (an encoder's output buffer), freed once,
/// when the last reference goes: the owner behind an `EncodedBytes` that
/// reads it in place.
final class GLibBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer

    /// Takes ownership of `pointer`, which must come from `g_malloc`.
    init(_ pointer: UnsafeMutableRawPointer) {
        self.pointer = pointer
    }

    deinit {
        g_free(pointer)
    }
}
