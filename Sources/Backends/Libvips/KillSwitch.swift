import CVips
import Synchronization

/// Stops a running libvips job from another thread.
///
/// libvips computes pixels while the result is written; setting the kill
/// flag on the image being computed makes that pass fail at its next tile.
/// The switch holds a reference to the image while it watches it, so the
/// flag is never set on a released image.
package final class KillSwitch: Sendable {
    private struct State: @unchecked Sendable {  // The pointer is only touched under the lock.
        var cancelled = false
        var watched: UnsafeMutablePointer<VipsImage>?
    }

    private let state = Mutex(State())

    package init() {}

    /// Stops the job: now if an image is being computed, else at its next check.
    package func cancel() {
        state.withLock { state in
            state.cancelled = true
            if let image = state.watched { vips_image_set_kill(image, 1) }
        }
    }

    package var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Throws if the job was cancelled; call between stages.
    package func check() throws(ProcessingError) {
        if isCancelled { throw Self.cancelledError }
    }

    /// Runs `body` (which computes `image`) so that `cancel()` can stop it.
    package func watching<T>(_ image: VipsImageHandle, _ body: () throws(ProcessingError) -> T) throws(ProcessingError) -> T {
        let alreadyCancelled = state.withLock { state in
            if !state.cancelled {
                g_object_ref(image.pointer)
                state.watched = image.pointer
            }
            return state.cancelled
        }
        if alreadyCancelled { throw Self.cancelledError }
        defer {
            state.withLock { state in
                if let watched = state.watched { g_object_unref(watched) }
                state.watched = nil
            }
        }
        do {
            return try body()
        } catch {
            throw isCancelled ? Self.cancelledError : error
        }
    }

    static let cancelledError = ProcessingError(.cancelled, "the job was cancelled")
}
