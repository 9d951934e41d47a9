import BackendTestSupport
import CalotypeCore
import CalotypeLibvips
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Allocator tuning for libvips")
struct AllocatorTuningTests {
    @Test func withoutOperatorSettingsTheImageServingDefaultsApply() {
        #expect(AllocatorTuning.resolve(environment: [:]) == .imageServing)
        #expect(AllocatorTuning.imageServing.arenas == 2)
    }

    @Test func theOperatorsOwnValuesWinOneByOne() {
        let tuning = AllocatorTuning.resolve(environment: ["MALLOC_ARENA_MAX": "4", "MALLOC_TRIM_THRESHOLD_": " 1048576 "])
        #expect(tuning == AllocatorTuning(arenas: 4, mmapThreshold: AllocatorTuning.imageServing.mmapThreshold, trimThreshold: 1_048_576))
    }

    @Test func unreadableValuesAndGlibcTunablesAreLeftToGlibc() {
        #expect(AllocatorTuning.resolve(environment: ["MALLOC_ARENA_MAX": "many"]).arenas == nil)
        #expect(AllocatorTuning.resolve(environment: ["MALLOC_ARENA_MAX": "0"]).arenas == nil)
        #expect(AllocatorTuning.resolve(environment: ["GLIBC_TUNABLES": "glibc.malloc.arena_max=8"]) == AllocatorTuning())
        #expect(AllocatorTuning.resolve(environment: ["GLIBC_TUNABLES": "glibc.rtld.nns=2"]) == .imageServing)
    }

    /// This project builds on glibc (Debian): every default must be accepted,
    /// or the start-up warning would fire for every user. Under a sanitizer
    /// (CI runs this suite under ASan and TSan too) malloc is the sanitizer's,
    /// whose mallopt answers as it likes, and calotype does not tune it.
    @Test(.enabled(if: AllocatorTuning.glibcMallocInUse, "malloc is glibc's (not a sanitizer's)"))
    func glibcAcceptsTheDefaultsAndAValueBeyondItsIntIsRefused() {
        #expect(AllocatorTuning.imageServing.apply() == [])
        #expect(AllocatorTuning(trimThreshold: 1 << 40).apply() == ["trim threshold"])
    }

    /// The check that decides whether to tune agrees with the sanitizers'
    /// own marks: their runtimes define `__asan_init` / `__tsan_init`.
    @Test func mallocIsGlibcsExactlyWhenNoSanitizerReplacedIt() {
        let marks: [String] = ["__asan_init", "__tsan_init"]
        let sanitized = marks.contains { mark in dlsym(nil, mark) != nil }
        #expect(AllocatorTuning.glibcMallocInUse == !sanitized)
    }
}
