import CalotypeCore
import CalotypeLibvips
import CalotypeOpenCL
import Foundation
import Scheduler
import Server

/// The commands that process images tune glibc's allocator for libvips
/// before their first job: this executable owns its process, the engine
/// library does not (see `AllocatorTuning`).
package enum AllocatorSetUp {
    package static func apply(environment: [String: String] = ProcessInfo.processInfo.environment) {
        apply(settings: Settings(environment: environment))
    }

    package static func apply(settings: Settings) {
        // A sanitizer's or a preloaded allocator: glibc's settings would not reach it.
        guard AllocatorTuning.glibcMallocInUse else { return }
        let names = ["GLIBC_TUNABLES", "MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"]
        let values = Dictionary(uniqueKeysWithValues: names.compactMap { name in settings.string(name).map { (name, $0) } })
        for refused in AllocatorTuning.resolve(environment: values).apply() {
            FileHandle.standardError.write(Data("warning: the C library refused the malloc \(refused) setting; its default stays\n".utf8))
        }
    }
}
