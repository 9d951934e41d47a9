import BackendTestSupport
import CVips
import CalotypeCore
import CalotypeLibvips
import Dispatch
import Foundation
import NIOConcurrencyHelpers
import Testing

/// libvips 8.13-8.15.3 let an idle worker thread exit in a way that races with
/// a job taking it (heap corruption: the abort "malloc_consolidate(): unaligned
/// fastbin chunk detected" seen under load after an idle spell). CVipsFixes
/// keeps idle workers waiting instead; these check that it is linked in and
/// does what it says.
@Suite("libvips idle-thread exit fix")
struct IdleThreadExitFixTests {
    /// The libvips this process runs, as (major, minor, micro).
    private static var libvipsVersion: (Int, Int, Int) {
        (Int(vips_version(0)), Int(vips_version(1)), Int(vips_version(2)))
    }

    private static var libvipsNeedsTheFix: Bool {
        let (major, minor, micro) = libvipsVersion
        return (major, minor, micro) < (8, 15, 4)
    }

    @Test func theFixIsInForceWhereThisLibvipsNeedsIt() throws {
        let backend = try LibvipsBackend(threadPool: .singleton)
        #expect(backend.idleThreadExitFix == (Self.libvipsNeedsTheFix ? .inForce : .notNeeded))
        #expect(IdleThreadExitFix.current != .missing, "the binary must export the fix so that libvips resolves to it")
    }

    /// The call libvips' idle workers make: a wait with a timeout (15 s in
    /// libvips; 1 ms here). With the fix it does not time out: a post that
    /// comes 100 ms later is taken. libvips' own function gives up after 1 ms
    /// and returns -1, which is the exit that races.
    @Test func anIdleWorkerWaitsForWorkInsteadOfTimingOut() throws {
        _ = try LibvipsBackend(threadPool: .singleton)  // libvips started
        let semaphore = SharedSemaphore()
        defer { semaphore.release() }
        let result = NIOLockedValueBox<Int32?>(nil)
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let value = vips_semaphore_down_timeout(semaphore.pointer, 1000)  // microseconds
            result.withLockedValue { $0 = value }
            finished.signal()
        }
        // The stimulus, not synchronisation: the post comes long after the
        // 1 ms timeout, whichever thread runs first.
        Thread.sleep(forTimeInterval: 0.1)
        vips_semaphore_up(semaphore.pointer)
        finished.wait()
        let expected: Int32 = Self.libvipsNeedsTheFix ? 0 : -1
        #expect(result.withLockedValue { $0 } == expected)
    }
}

/// A libvips semaphore at a fixed address, shared by two threads.
private final class SharedSemaphore: @unchecked Sendable {  // libvips' semaphore locks internally.
    let pointer = UnsafeMutablePointer<VipsSemaphore>.allocate(capacity: 1)
    /// libvips keeps the name's pointer, not a copy.
    private let name = strdup("idle-test")

    init() { vips_semaphore_init(pointer, 0, name) }

    func release() {
        vips_semaphore_destroy(pointer)
        pointer.deallocate()
        free(name)
    }
}
