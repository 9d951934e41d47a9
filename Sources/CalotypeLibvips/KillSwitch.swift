import CVips
import CalotypeCore
import NIOConcurrencyHelpers

/// Stops a running libvips job from another thread.
///
/// libvips computes pixels only when an image is rendered (to memory, or
/// while it is encoded), and it checks an image's kill flag each time a
/// region of that image is asked for: the flag set on the image being
/// rendered makes the render fail at its next tile or strip. The work
/// between two checks is what one strip costs through the lazy graph below
/// that image, so the pipeline renders to memory before each area operation
/// that has another below it (`LibvipsPipeline`): 16 blurs of sigma 100 as one
/// graph took 19 s to notice the flag, staged they stop at once. The switch
/// holds a reference to the image while it watches it, so the flag is never
/// set on a released image.
package final class KillSwitch: Sendable {
    private struct State: @unchecked Sendable {  // The pointer is only touched under the lock.
        var cancelled = false
        var watched: UnsafeMutablePointer<VipsImage>?
    }

    private let state = NIOLockedValueBox(State())

    package init() {}

    /// Stops the job: now if an image is being computed, else at its next check.
    package func cancel() {
        state.withLockedValue { state in
            state.cancelled = true
            if let image = state.watched { vips_image_set_kill(image, 1) }
        }
    }

    package var isCancelled: Bool { state.withLockedValue { $0.cancelled } }

    /// Throws if the job was cancelled; call between stages.
    package func check() throws(ProcessingError) {
        if isCancelled { throw Self.cancelledError }
    }

    /// Runs a job's `body`: throws at once if the job is already cancelled,
    /// and any error after `cancel()` (a render that failed on the flag)
    /// becomes `cancelledError`.
    package func running<T>(_ body: () throws(ProcessingError) -> T) throws(ProcessingError) -> T {
        do {
            try check()
            return try body()
        } catch {
            throw isCancelled ? Self.cancelledError : error
        }
    }

    /// Runs `body` (which computes `image`) so that `cancel()` can stop it.
    package func watching<T>(_ image: VipsImageHandle, _ body: () throws(ProcessingError) -> T) throws(ProcessingError) -> T {
        let alreadyCancelled = state.withLockedValue { state in
            if !state.cancelled {
                g_object_ref(image.pointer)
                state.watched = image.pointer
            }
            return state.cancelled
        }
        if alreadyCancelled { throw Self.cancelledError }
        defer {
            state.withLockedValue { state in
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
