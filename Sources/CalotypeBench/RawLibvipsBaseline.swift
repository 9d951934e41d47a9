import CVips
import CalotypeCore
import CalotypeLibvips
import Foundation
import NIOConcurrencyHelpers

/// The same images and the same thumbnail made by libvips' C API directly,
/// on plain threads, with no Calotype code between the image and libvips:
/// what the hardware and libvips can do, against which Calotype's own modes
/// are read.
///
/// Only a recipe that is one `resize` into a box (`inside`, not enlarged)
/// has a raw equivalent. The calls are the ones Calotype's libvips pipeline
/// makes for that recipe, so both do the same work and write the same bytes:
/// - `fast_shrink` (the default) on JPEG or WebP: open with the decoder's
///   power-of-two shrink (`shrink=N`, `scale=1/N`), then `vips_resize`;
/// - otherwise `vips_thumbnail_buffer`, which keeps a factor of two or more
///   for its Lanczos step (`vipsthumbnail`'s arithmetic);
/// - then, for an image tagged with an ICC profile, the transform to sRGB
///   (stripped output must still show the right colours), and one
///   `vips_image_write_to_buffer` with the recipe's format, Q and strip.
/// EXIF orientation is not applied (photos straight from a camera may carry it).
struct RawLibvipsPlan: Sendable {
    var boxWidth: Int?
    var boxHeight: Int?
    var fastShrink: Bool
    var format: OutputFormat
    var quality: Int
    var strip: Bool

    /// The plan for `recipe`, or why it has none.
    static func make(for recipe: Recipe) -> Result<RawLibvipsPlan, RawPlanUnavailable> {
        guard recipe.operations.count == 1, case .resize(let resize) = recipe.operations[0] else {
            return .failure(RawPlanUnavailable(reason: "the recipe is not a single resize"))
        }
        guard resize.effectiveFit == .inside, !resize.enlarge else {
            return .failure(RawPlanUnavailable(reason: "the resize is not fit=inside without enlarge"))
        }
        return .success(
            RawLibvipsPlan(
                boxWidth: resize.width,
                boxHeight: resize.height,
                fastShrink: resize.fastShrink,
                format: recipe.output.format,
                quality: recipe.output.quality,
                strip: recipe.output.strip
            )
        )
    }

    /// `.jpg[Q=80,strip]`, as Calotype's encoder writes it.
    func saveSuffix(forJPEGInput isJPEG: Bool) -> String {
        let written: OutputFormat = format == .original ? (isJPEG ? .jpeg : .png) : format
        var options: [String] = []
        if written != .png { options.append("Q=\(quality)") }
        if strip { options.append("strip") }
        return ".\(written.fileExtension)" + (options.isEmpty ? "" : "[\(options.joined(separator: ","))]")
    }
}

struct RawPlanUnavailable: Error, Sendable {
    var reason: String
}

/// Runs the raw baseline: `threads` plain threads take images from a shared
/// counter until none is left, each image start to finish on one thread.
enum RawLibvipsBaseline {
    /// One pass over `images`; libvips runs `threadsPerJob` threads per image
    /// (the same rule as Calotype's engine: cores / workers).
    static func run(_ images: [BenchImages.Image], plan: RawLibvipsPlan, threads: Int, threadsPerJob: Int) async -> RoundSample {
        vips_concurrency_set(Int32(max(1, threadsPerJob)))
        let work = SharedWork(count: images.count)
        let start = ContinuousClock.now
        return await withCheckedContinuation { (continuation: CheckedContinuation<RoundSample, Never>) in
            work.onFinished = { outcomes in
                var sample = RoundSample(seconds: (ContinuousClock.now - start).secondsValue)
                for outcome in outcomes.sorted(by: { $0.finished < $1.finished }) {
                    switch outcome.result {
                    case .success:
                        sample.recordSuccess(
                            latency: outcome.latency,
                            megapixels: images[outcome.index].megapixels,
                            backend: "libvips (raw)",
                            fallback: false
                        )
                        sample.recordFirstResult(at: (outcome.finished - start).secondsValue)
                    case .failure(let message):
                        sample.recordFailure("\(images[outcome.index].name): \(message.text)")
                    }
                }
                continuation.resume(returning: sample)
            }
            for _ in 0..<max(1, threads) {
                let thread = Thread {
                    while let index = work.take() {
                        let begun = ContinuousClock.now
                        let result = thumbnail(images[index].bytes, plan: plan)
                        let finished = ContinuousClock.now
                        work.finish(.init(index: index, result: result, latency: (finished - begun).secondsValue, finished: finished))
                    }
                    vips_thread_shutdown()
                    work.threadDone()
                }
                thread.start()
            }
            work.launched(threads: max(1, threads))
        }
    }

    struct Failure: Error, Sendable {
        var text: String
    }

    /// One image through libvips, the output's size in bytes. Blocking.
    static func thumbnail(_ bytes: [UInt8], plan: RawLibvipsPlan) -> Result<[UInt8], Failure> {
        bytes.withUnsafeBytes { buffer -> Result<[UInt8], Failure> in
            guard let base = buffer.baseAddress,
                let loader = vips_foreign_find_load_buffer(base, buffer.count).map({ String(cString: $0) })
            else { return .failure(Failure(text: "not an image")) }
            let isJPEG = loader.contains("Jpeg")
            let isWebP = loader.contains("Webp")
            let options = "fail_on=truncated"
            // Each image is owned by one handle, which releases it once.
            var image: VipsImageHandle
            if plan.fastShrink && (isJPEG || isWebP) {
                guard let opened = cv_image_new_from_buffer(base, buffer.count, options, VIPS_ACCESS_SEQUENTIAL) else {
                    return .failure(Failure(text: errorText()))
                }
                image = VipsImageHandle(owning: opened)
                let shrink = decoderShrink(scale(plan, width: vips_image_get_width(image.pointer), height: vips_image_get_height(image.pointer)))
                if shrink > 1 {
                    let shrinkOption = isJPEG ? "shrink=\(shrink)" : "scale=\(1 / Double(shrink))"
                    guard let shrunk = cv_image_new_from_buffer(base, buffer.count, "\(options),\(shrinkOption)", VIPS_ACCESS_SEQUENTIAL) else {
                        return .failure(Failure(text: errorText()))
                    }
                    image = VipsImageHandle(owning: shrunk)
                }
                let factor = scale(plan, width: vips_image_get_width(image.pointer), height: vips_image_get_height(image.pointer))
                if factor != 1 {
                    var resized: UnsafeMutablePointer<VipsImage>?
                    guard cv_resize(image.pointer, &resized, factor, factor) == 0, let resized else {
                        return .failure(Failure(text: errorText()))
                    }
                    image = VipsImageHandle(owning: resized)
                }
            } else {
                let unbounded = Int32(VIPS_MAX_COORD)
                var thumbnail: UnsafeMutablePointer<VipsImage>?
                let status = cv_thumbnail_buffer(
                    UnsafeMutableRawPointer(mutating: base),
                    buffer.count,
                    &thumbnail,
                    plan.boxWidth.map(Int32.init) ?? unbounded,
                    plan.boxHeight.map(Int32.init) ?? unbounded,
                    VIPS_SIZE_DOWN,
                    VIPS_INTERESTING_NONE,
                    0,
                    nil,
                    options
                )
                guard status == 0, let thumbnail else { return .failure(Failure(text: errorText())) }
                image = VipsImageHandle(owning: thumbnail)
            }
            if vips_image_get_typeof(image.pointer, "icc-profile-data") != 0 {
                var converted: UnsafeMutablePointer<VipsImage>?
                if cv_icc_to_srgb(image.pointer, &converted) == 0, let converted {
                    image = VipsImageHandle(owning: converted)
                } else {
                    _ = errorText()
                }
            }
            var output: UnsafeMutableRawPointer?
            var length = 0
            let status = withExtendedLifetime(image) {
                cv_write_to_buffer(image.pointer, plan.saveSuffix(forJPEGInput: isJPEG), &output, &length)
            }
            guard status == 0, let output else {
                return .failure(Failure(text: errorText()))
            }
            defer { g_free(output) }
            return .success(Array(UnsafeRawBufferPointer(start: output, count: length)))
        }
    }

    /// The Lanczos scale that fits `width` x `height` into the plan's box, never enlarging.
    private static func scale(_ plan: RawLibvipsPlan, width: Int32, height: Int32) -> Double {
        let horizontal = plan.boxWidth.map { Double($0) / Double(width) } ?? .infinity
        let vertical = plan.boxHeight.map { Double($0) / Double(height) } ?? .infinity
        return min(horizontal, vertical, 1)
    }

    /// The largest power of two, at most 8, a decoder may shrink by and still
    /// leave at least the target size.
    private static func decoderShrink(_ scale: Double) -> Int {
        var factor = 1
        while factor < 8, Double(factor * 2) * scale <= 1 { factor *= 2 }
        return factor
    }

    private static func errorText() -> String {
        guard let buffer = vips_error_buffer_copy() else { return "libvips failed" }
        defer { g_free(buffer) }
        let text = String(cString: buffer).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "libvips failed" : text
    }
}

/// The counter the raw threads take images from, their outcomes, and the
/// hand-back to the waiting task when the last thread is done.
private final class SharedWork: @unchecked Sendable {
    struct Outcome: Sendable {
        var index: Int
        var result: Result<[UInt8], RawLibvipsBaseline.Failure>
        var latency: Double
        var finished: ContinuousClock.Instant
    }

    private struct State {
        var next = 0
        var outcomes: [Outcome] = []
        var running = 0
        var launched = false
    }

    private let count: Int
    private let state = NIOLockedValueBox(State())
    /// Set before any thread starts; called once, by the last thread to end.
    var onFinished: (([Outcome]) -> Void)?

    init(count: Int) {
        self.count = count
    }

    func take() -> Int? {
        state.withLockedValue { state in
            guard state.next < count else { return nil }
            defer { state.next += 1 }
            return state.next
        }
    }

    func finish(_ outcome: Outcome) {
        var outcome = outcome
        outcome.result = outcome.result.map { _ in [] }  // The bytes are not kept.
        state.withLockedValue { $0.outcomes.append(outcome) }
    }

    /// Called by the launching task once every thread has been started.
    func launched(threads: Int) {
        let done = state.withLockedValue { state -> [Outcome]? in
            state.running += threads
            state.launched = true
            return state.running == 0 ? state.outcomes : nil
        }
        if let done { onFinished?(done) }
    }

    func threadDone() {
        let done = state.withLockedValue { state -> [Outcome]? in
            state.running -= 1
            return state.launched && state.running == 0 ? state.outcomes : nil
        }
        if let done { onFinished?(done) }
    }
}
