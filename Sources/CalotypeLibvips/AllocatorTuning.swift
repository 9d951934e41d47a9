import CVips
import CalotypeCore
import Foundation

/// The glibc malloc settings for a process that runs libvips jobs, applied
/// once at start-up by the command-line tool.
///
/// libvips allocates and frees large buffers for every image (decoded lines,
/// tiles, the encoded output). Under glibc's defaults each worker thread
/// fragments an arena of its own, and freed buffers above the adaptive mmap
/// threshold go back to the kernel only to be faulted in again by the next
/// image. libvips' maintainers advise servers to limit the arenas; a fixed
/// mmap threshold and a higher trim threshold keep the buffers in the heap.
/// On the 24-photo benchmark set (`calotype bench --rounds 7`, 2 cores)
/// this took page faults from 358 k to 32 k, kernel time from 1.0 to 0.5 s,
/// peak memory from 270 to 211 MB, and throughput up 4-7%.
///
/// A library does not change its host's allocator: `Engine` never calls
/// this; programs that own their process (as `calotype` does) opt in.
public struct AllocatorTuning: Sendable, Hashable {
    /// At most this many malloc arenas (`MALLOC_ARENA_MAX`).
    public var arenas: Int?
    /// Allocations of at least this many bytes get their own mapping
    /// (`MALLOC_MMAP_THRESHOLD_`).
    public var mmapThreshold: Int?
    /// Free memory at the top of the heap beyond this is returned to the
    /// kernel (`MALLOC_TRIM_THRESHOLD_`).
    public var trimThreshold: Int?

    public init(arenas: Int? = nil, mmapThreshold: Int? = nil, trimThreshold: Int? = nil) {
        self.arenas = arenas
        self.mmapThreshold = mmapThreshold
        self.trimThreshold = trimThreshold
    }

    /// What Calotype applies when the environment says nothing.
    public static let imageServing = AllocatorTuning(arenas: 2, mmapThreshold: 32 << 20, trimThreshold: 64 << 20)

    /// `imageServing`, except that the operator's own settings win: a value
    /// in `MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_` or
    /// `MALLOC_TRIM_THRESHOLD_` is used instead of the default (glibc reads
    /// those only from the real environment; this also honours them from an
    /// env file), and `GLIBC_TUNABLES` with any `glibc.malloc` setting
    /// leaves the allocator entirely to glibc. Unreadable values are left to
    /// glibc too.
    public static func resolve(environment: [String: String]) -> AllocatorTuning {
        if environment["GLIBC_TUNABLES"]?.contains("glibc.malloc.") == true {
            return AllocatorTuning()
        }
        func setting(_ name: String, default value: Int?) -> Int? {
            guard let text = environment[name] else { return value }
            return Int(text.trimmingCharacters(in: .whitespaces)).flatMap { $0 > 0 ? $0 : nil }
        }
        let defaults = imageServing
        return AllocatorTuning(
            arenas: setting("MALLOC_ARENA_MAX", default: defaults.arenas),
            mmapThreshold: setting("MALLOC_MMAP_THRESHOLD_", default: defaults.mmapThreshold),
            trimThreshold: setting("MALLOC_TRIM_THRESHOLD_", default: defaults.trimThreshold)
        )
    }

    /// Whether glibc's malloc serves this process, so that its settings
    /// matter. Under AddressSanitizer or ThreadSanitizer (the project's CI
    /// runs its tests under both), or with another allocator preloaded,
    /// malloc is not glibc's and there is nothing to tune.
    public static let glibcMallocInUse = cv_malloc_is_glibc() == 1

    /// Gives the free pages of every malloc arena back to the kernel
    /// (`malloc_trim(0)`); true when some were. Freed buffers in the middle
    /// of an arena stay resident otherwise: after a crowd of 16 MP uploads
    /// the server kept its peak for good. Blocking (it walks every arena
    /// under its lock): call it from a thread that may block, when idle.
    @discardableResult
    public static func trimFreeMemory() -> Bool {
        glibcMallocInUse && cv_malloc_trim() == 1
    }

    /// Applies the settings that are set, and returns those not applied
    /// (a value beyond C's `int`, one the C library refused, or a C library
    /// other than glibc).
    @discardableResult
    public func apply() -> [String] {
        let settings: [(name: String, parameter: Int32, value: Int?)] = [
            ("arenas", Int32(CV_MALLOC_ARENA_MAX), arenas),
            ("mmap threshold", Int32(CV_MALLOC_MMAP_THRESHOLD), mmapThreshold),
            ("trim threshold", Int32(CV_MALLOC_TRIM_THRESHOLD), trimThreshold),
        ]
        return settings.compactMap { setting in
            guard let value = setting.value else { return nil }
            guard let clamped = Int32(exactly: value), cv_mallopt(setting.parameter, clamped) == 1 else { return setting.name }
            return nil
        }
    }
}
