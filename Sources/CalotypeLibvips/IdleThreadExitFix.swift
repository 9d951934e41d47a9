import CVipsFixes
import CalotypeCore

/// libvips 8.13 to 8.15.3 let a worker thread that was idle for 15 s exit in
/// a way that races with a job taking it: a write into freed memory that
/// glibc later aborts on ("malloc_consolidate(): unaligned fastbin chunk
/// detected"), or a job that never finishes. Debian 12 ships 8.14.1. The C
/// module `CVipsFixes` keeps idle libvips threads waiting instead (see
/// `threadset-idle-exit.c`); this says whether that was needed and works.
public enum IdleThreadExitFix: Sendable, Equatable, CustomStringConvertible {
    /// This libvips has the upstream fix (8.15.4 or later).
    case notNeeded
    /// Idle libvips threads wait without a timeout, so the racy exit never runs.
    case inForce
    /// The fix is needed but the process resolves `vips_semaphore_down_timeout`
    /// to another definition (a program linked without exporting its symbols,
    /// or a preloaded library): heap corruption after idle spells is possible.
    case missing

    /// The state in this process (libvips need not be started).
    public static var current: IdleThreadExitFix {
        switch cv_threadset_idle_exit_fix() {
        case 0: .notNeeded
        case 1: .inForce
        default: .missing
        }
    }

    public var description: String {
        switch self {
        case .notNeeded: "not needed (this libvips has the upstream fix)"
        case .inForce: "in force (idle libvips threads are kept, so their racy exit never runs)"
        case .missing:
            "MISSING: this libvips lets idle worker threads exit in a way that can corrupt the heap, and the fix is not linked in"
        }
    }
}
