import CVips
import CalotypeCore
import CalotypeLibvips
import CalotypeOpenCL
import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import Testing

/// The OpenCL backend on this machine's first admitted device, with CPU
/// devices (PoCL) admitted explicitly, built once for the whole test run.
///
/// Building a backend compiles (or loads) its kernels and runs its
/// self-check: seconds on PoCL, a minute on a fresh machine under a
/// sanitizer. It runs on a thread of its own, never on Swift's cooperative
/// threads (two tests waiting on a `static let` being built there held both
/// of a 2-core machine's, and every other test in the process stalled for
/// the length of the compile: 10 s, past the live test client's 20 s under
/// load). Its jobs run on threads of its own too, not on
/// `NIOThreadPool.singleton`, which servers under test parse uploads on.
package enum OpenCLFixture {
    package static let cacheDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-test-cache", isDirectory: true)

    package static func configuration(
        fault: OpenCLFault? = nil,
        cacheDirectory: URL? = OpenCLFixture.cacheDirectory,
        maxBufferBytes: Int? = nil
    ) -> OpenCLBackend.Configuration {
        OpenCLBackend.Configuration(
            allowCPUDevices: true,
            cacheDirectory: cacheDirectory,
            fault: fault,
            maxBufferBytes: maxBufferBytes
        )
    }

    /// The shared backend, built once: the first caller starts the build,
    /// every caller awaits it without holding a thread.
    private static let shared = Task { try await make(configuration()) }

    package static var backend: OpenCLBackend {
        get async throws { try await shared.value }
    }

    /// A backend of its own (a test of the build, the cache or a fault).
    package static func make(_ configuration: OpenCLBackend.Configuration) async throws -> OpenCLBackend {
        try await onThreadOfItsOwn {
            let found = try #require(OpenCLBackend.discover(configuration).admitted.first, "no OpenCL device (install pocl-opencl-icd)")
            return try OpenCLBackend(device: found, configuration: configuration, threadPool: testJobThreads)
        }
    }
}

/// Runs blocking work (an OpenCL build, a device discovery) on a new
/// thread, and resumes the caller with its outcome.
/// The work runs holding a lock the caller takes once resumed, so that
/// ThreadSanitizer sees what the thread wrote as written before it is read.
package func onThreadOfItsOwn<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    let handOver = NIOLock()
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, any Error>, Never>) in
        Thread { continuation.resume(returning: handOver.withLock { Result { try body() } }) }.start()
    }
    handOver.withLock {}
    return try result.get()
}

/// Where two decoded images differ: the count of differing samples and the
/// largest difference.
package struct Difference: CustomStringConvertible {
    package var samples: Int
    package var differing: Int
    package var worst: Int
    package var withinOne: Int

    package init(_ a: Decoded, _ b: Decoded) {
        samples = a.pixels.count
        differing = 0
        worst = 0
        withinOne = 0
        for (x, y) in zip(a.pixels, b.pixels) {
            let d = abs(Int(x) - Int(y))
            if d != 0 { differing += 1 }
            if d <= 1 { withinOne += 1 }
            worst = max(worst, d)
        }
    }

    package var description: String { "\(differing) of \(samples) samples differ, worst by \(worst)" }
}

/// Runs `recipe` (PNG output, lossless) on both backends and compares.
@discardableResult
package func compareBackends(
    _ bytes: [UInt8],
    _ recipe: Recipe,
    label: String,
    exact: Bool = true
) async throws -> Difference {
    var recipe = recipe
    recipe.output.format = .png
    let input = ImageInput(bytes: bytes, name: label)
    let cpu = try await libvips.process(input, recipe: recipe)
    let gpu = try await OpenCLFixture.backend.process(input, recipe: recipe)
    let a = try Decoded(cpu.bytes)
    let b = try Decoded(gpu.bytes)
    #expect(gpu.backend.hasPrefix("opencl:"))
    try #require(
        (a.width, a.height, a.bands) == (b.width, b.height, b.bands),
        "\(label): \(a.width)x\(a.height)x\(a.bands) (libvips) against \(b.width)x\(b.height)x\(b.bands) (OpenCL)"
    )
    let difference = Difference(a, b)
    print("opencl-equivalence \(label) [\(recipe.shorthandDescription)]: \(a.width)x\(a.height)x\(a.bands): \(difference)")
    if exact {
        #expect(difference.differing == 0, "\(label): \(difference)")
    } else {
        #expect(difference.worst <= 2, "\(label): \(difference)")
        #expect(Double(difference.withinOne) >= 0.999 * Double(difference.samples), "\(label): \(difference)")
    }
    return difference
}

extension Recipe {
    package var shorthandDescription: String { json }
}

/// A PNG of deterministic random content (bands 1...4).
package func randomPNG(width: Int, height: Int, bands: Int = 3, seed: UInt32 = 1, smooth: Bool = false) throws -> [UInt8] {
    var state = seed &* 2_654_435_761 &+ 1
    var pixels = [UInt8](repeating: 0, count: width * height * bands)
    for y in 0..<height {
        for x in 0..<width {
            for b in 0..<bands {
                state = state &* 1_664_525 &+ 1_013_904_223
                let noise = Int(state >> 24)
                let value = smooth ? (x * 7 + y * 3 + b * 50 + noise / 8) % 256 : noise
                pixels[(y * width + x) * bands + b] = UInt8(truncatingIfNeeded: value)
            }
        }
    }
    let image = try #require(
        pixels.withUnsafeBytes {
            vips_image_new_from_memory_copy($0.baseAddress, $0.count, Int32(width), Int32(height), Int32(bands), VIPS_FORMAT_UCHAR)
        }
    )
    defer { g_object_unref(image) }
    image.pointee.Type = bands < 3 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB
    var buffer: UnsafeMutableRawPointer?
    var length = 0
    try #require(cv_write_to_buffer(image, ".png", &buffer, &length) == 0)
    let out = try #require(buffer)
    defer { g_free(out) }
    return Array(UnsafeRawBufferPointer(start: out, count: length))
}

/// A JPEG of smooth random content carrying EXIF orientation `orientation`.
package func orientedJPEG(width: Int, height: Int, orientation: Int) throws -> [UInt8] {
    let png = try randomPNG(width: width, height: height, seed: UInt32(orientation), smooth: true)
    return try png.withUnsafeBytes { buffer in
        let image = try #require(cv_image_new_from_buffer(buffer.baseAddress, buffer.count, "", VIPS_ACCESS_RANDOM))
        defer { g_object_unref(image) }
        vips_image_set_int(image, "orientation", Int32(orientation))
        var output: UnsafeMutableRawPointer?
        var length = 0
        try #require(cv_write_to_buffer(image, ".jpg[Q=95]", &output, &length) == 0)
        let bytes = try #require(output)
        defer { g_free(bytes) }
        return Array(UnsafeRawBufferPointer(start: bytes, count: length))
    }
}
