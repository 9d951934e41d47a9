import CVips
import CalotypeCore
import CalotypeLibvips
import CalotypeOpenCL
import Foundation
import NIOPosix
import Testing

/// The committed test images (see Fixtures/make-fixtures.sh).
package enum Fixture: String, CaseIterable {
    /// Tests/Fixtures, made by make-fixtures.sh beside them.
    package static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    case photoJPEG = "photo.jpg"
    case exifRotatedJPEG = "exif-rotated.jpg"
    case alphaPNG = "alpha.png"
    case deepPNG = "deep.png"
    case cmykJPEG = "cmyk.jpg"
    case photoWebP = "photo.webp"
    case photoGIF = "photo.gif"
    case photoTIFF = "photo.tif"
    case hugeHeaderPNG = "huge-header.png"
    case pdf = "document.pdf"
    case matrix = "matrix.mat"

    package var bytes: [UInt8] {
        get throws {
            let folder = Fixture.folder
            return try [UInt8](Data(contentsOf: folder.appendingPathComponent(rawValue)))
        }
    }

    package var input: ImageInput {
        get throws { ImageInput(bytes: try bytes, name: rawValue) }
    }
}

/// The CPU backend on job threads of the tests' own (libvips itself starts
/// once): not on `NIOThreadPool.singleton`, which servers under test parse
/// uploads on.
package var libvips: LibvipsBackend {
    get throws { try LibvipsBackend(threadPool: testJobThreads) }
}

/// The threads test backends run their jobs on.
package let testJobThreads: NIOThreadPool = {
    let pool = NIOThreadPool(numberOfThreads: 2)
    pool.start()
    return pool
}()

package func recipe(_ shorthand: String) throws -> Recipe {
    try Recipe(shorthand: shorthand)
}

/// An encoded image decoded again, to check what a backend wrote.
package struct Decoded {
    package let format: SourceFormat
    package let width: Int
    package let height: Int
    package let bands: Int
    package let pixels: [UInt8]
    package let hasEXIF: Bool
    package let orientation: Int

    package init(_ bytes: [UInt8]) throws {
        try self.init(EncodedBytes(bytes))
    }

    package init(_ bytes: EncodedBytes) throws {
        let result: Result<Decoded, ProcessingError> = bytes.withUnsafeBytes { buffer in
            Result { () throws(ProcessingError) in
                let source = try LibvipsSource(buffer, name: "output", limits: ImageLimits())
                let image = try source.open(access: VIPS_ACCESS_RANDOM)
                return Decoded(
                    format: source.format,
                    width: image.width,
                    height: image.height,
                    bands: image.bands,
                    pixels: try image.pixels(),
                    hasEXIF: image.has("exif-data"),
                    orientation: image.orientation
                )
            }
        }
        self = try result.get()
    }

    /// Decodes a format whose loader the process keeps blocked (JPEG XL:
    /// libvips marks it untrusted) with the `vips` command in a process of
    /// its own, to PNG, and reads that.
    package init(outsideTheProcess bytes: [UInt8], fileExtension: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-decode-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("in.\(fileExtension)")
        let output = folder.appendingPathComponent("out.png")
        try Data(bytes).write(to: input)
        let vips = Process()
        vips.executableURL = URL(fileURLWithPath: "/usr/bin/vips")
        vips.arguments = ["copy", input.path, output.path]
        try vips.run()
        vips.waitUntilExit()
        try #require(vips.terminationStatus == 0, "vips could not decode the .\(fileExtension)")
        self = try Decoded([UInt8](Data(contentsOf: output)))
    }

    private init(format: SourceFormat, width: Int, height: Int, bands: Int, pixels: [UInt8], hasEXIF: Bool, orientation: Int) {
        self.format = format
        self.width = width
        self.height = height
        self.bands = bands
        self.pixels = pixels
        self.hasEXIF = hasEXIF
        self.orientation = orientation
    }

    package func pixel(_ x: Int, _ y: Int) -> [UInt8] {
        let start = (y * width + x) * bands
        return Array(pixels[start..<start + bands])
    }

    /// Mean squared difference between neighbouring pixels: a crude measure
    /// of detail that blur lowers and sharpen raises.
    package var detail: Double {
        var sum = 0.0
        var count = 0
        for y in 0..<height {
            for x in 1..<width {
                for band in 0..<bands {
                    let a = Double(pixels[(y * width + x) * bands + band])
                    let b = Double(pixels[(y * width + x - 1) * bands + band])
                    sum += (a - b) * (a - b)
                    count += 1
                }
            }
        }
        return sum / Double(max(count, 1))
    }
}

/// Peak signal-to-noise ratio between two 8-bit images of the same shape;
/// infinity when identical.
package func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
    precondition(a.count == b.count, "images differ in size")
    var squared = 0.0
    for index in a.indices {
        let difference = Double(a[index]) - Double(b[index])
        squared += difference * difference
    }
    let mean = squared / Double(a.count)
    return mean == 0 ? .infinity : 10 * log10(255 * 255 / mean)
}

/// libvips' own thumbnail of `bytes`, as raw pixels: the reference that
/// `resize` must match.
package func vipsThumbnailPixels(_ bytes: [UInt8], width: Int, height: Int) throws -> (width: Int, height: Int, pixels: [UInt8]) {
    try bytes.withUnsafeBytes { buffer in
        var output: UnsafeMutablePointer<VipsImage>?
        let status = cv_thumbnail_buffer(
            UnsafeMutableRawPointer(mutating: buffer.baseAddress),
            buffer.count,
            &output,
            Int32(width),
            Int32(height),
            VIPS_SIZE_DOWN,
            VIPS_INTERESTING_NONE,
            0,
            nil,
            ""
        )
        let image = try #require(status == 0 ? output : nil)
        defer { g_object_unref(image) }
        var length = 0
        let memory = try #require(cv_write_to_memory(image, &length))
        defer { g_free(memory) }
        return (
            Int(vips_image_get_width(image)), Int(vips_image_get_height(image)),
            Array(UnsafeRawBufferPointer(start: memory, count: length))
        )
    }
}
