import BackendTestSupport
import CalotypeCore
import CalotypeLibvips
import CalotypeOpenCL
import Foundation
import Testing

/// The equivalence suite: every operation and fit, on the committed
/// fixtures and on random-content images at awkward sizes, OpenCL (on PoCL
/// here) against the libvips backend, compared losslessly (PNG). Each case
/// prints the count of differing samples and the worst difference.
@Suite("OpenCL backend: the same pictures as libvips", .serialized)
struct OpenCLEquivalenceTests {
    // MARK: Resize as the first step (shrink-on-load)

    @Test(arguments: [
        "width=100", "width=64&height=64&fit=cover", "width=120&height=50&fit=fill", "width=90&height=90&fit=contain",
        "width=100&fast_shrink=false", "width=33", "width=7", "width=1", "width=160", "width=300", "height=31",
        "width=50&height=80&fit=cover&fast_shrink=false", "width=90&height=40&fit=contain&background=ff000080",
        "width=79&height=61&fit=fill&fast_shrink=false",
        // imgproxy's `auto`, resolved against the decoded photo (landscape): cover, then inside.
        "width=90&height=60&fit=auto", "width=60&height=90&fit=auto",
    ])
    func resizeFirstOnThePhoto(_ shorthand: String) async throws {
        try await compareBackends(try Fixture.photoJPEG.bytes, try recipe(shorthand), label: "photo.jpg")
    }

    @Test(arguments: [Fixture.exifRotatedJPEG, .photoWebP, .photoGIF, .photoTIFF, .deepPNG])
    func resizeFirstOnEachFormat(_ fixture: Fixture) async throws {
        for shorthand in ["width=40", "width=40&fast_shrink=false", "width=30&height=30&fit=cover", "width=45&height=20&fit=fill"] {
            try await compareOrUnsupported(try fixture.bytes, try recipe(shorthand), label: fixture.rawValue)
        }
    }

    // MARK: Resize later in the recipe (vips_resize on the decoded pixels)

    /// Scales that exercise the box pre-shrink: 0.5, 0.3333, 0.123, 0.013.
    @Test(arguments: [1500, 1000, 369, 39, 2999, 1])
    func resizeWideImages(_ width: Int) async throws {
        let image = try randomPNG(width: 3000, height: 9, smooth: true)
        try await compareBackends(
            image,
            Recipe([.flip(Flip(direction: .vertical)), .resize(try Resize(width: width, height: 9, fit: .fill))]),
            label: "random 3000x9"
        )
    }

    @Test(arguments: [1500, 1000, 369, 39, 7])
    func resizeTallImages(_ height: Int) async throws {
        let image = try randomPNG(width: 5, height: 3000, bands: 4, seed: 3)
        try await compareBackends(
            image,
            Recipe([.flip(Flip(direction: .horizontal)), .resize(try Resize(width: 5, height: height, fit: .fill))]),
            label: "random 5x3000 rgba"
        )
    }

    @Test(arguments: [
        (Resize.Fit.inside, 101, 57), (.cover, 64, 64), (.fill, 200, 3), (.contain, 120, 120), (.cover, 1, 1), (.inside, 256, 1),
    ])
    func resizeRandomImages(_ fit: Resize.Fit, _ width: Int, _ height: Int) async throws {
        for bands in [1, 3, 4] {
            let image = try randomPNG(width: 257, height: 131, bands: bands, seed: UInt32(width))
            let resize = try Resize(width: width, height: height, fit: fit, background: Colour(red: 0x20, green: 0x40, blue: 0x80, alpha: 0x80))
            try await compareBackends(image, Recipe([.rotate(try Rotate(angle: 180)), .resize(resize)]), label: "random 257x131x\(bands)")
        }
    }

    // MARK: Geometry

    @Test(arguments: [(1, 1), (17, 5), (333, 77), (2, 401)])
    func geometry(_ width: Int, _ height: Int) async throws {
        for bands in [1, 2, 3, 4] {
            let image = try randomPNG(width: width, height: height, bands: bands, seed: UInt32(width * 10 + bands))
            for shorthand in [
                "rotate=90", "rotate=180", "rotate=270", "flip=horizontal", "flip=vertical",
                "crop_x=1&crop_y=0&crop_width=5&crop_height=300", "crop_x=0&crop_y=0&crop_width=1&crop_height=1",
                // Placed by imgproxy's gravity: the same rectangle on both.
                "crop_width=3&crop_height=4&crop_gravity=south_east&crop_offset_x=1",
                "crop_width=9&crop_height=2&crop_gravity=focus&crop_focus_x=0.8&crop_focus_y=0.1",
                "crop_width=4&crop_height=4&crop_gravity=centre&crop_offset_y=0.25",
            ] where !(shorthand.hasPrefix("crop_x=1") && width < 2) {
                try await compareBackends(image, try recipe(shorthand), label: "random \(width)x\(height)x\(bands)")
            }
        }
    }

    /// Every EXIF orientation, through both shrink-on-load paths and the
    /// full decode.
    @Test(arguments: 2...8)
    func exifOrientations(_ orientation: Int) async throws {
        let jpeg = try orientedJPEG(width: 400, height: 300, orientation: orientation)
        for shorthand in [
            "width=40", "width=40&fast_shrink=false", "width=30&height=50&fit=cover", "width=60&height=20&fit=fill",
            "rotate=90", "autorotate=false&width=50",
        ] {
            try await compareBackends(jpeg, try recipe(shorthand), label: "orientation \(orientation)")
        }
    }

    @Test func autorotationBeforeTheRecipe() async throws {
        for shorthand in ["rotate=90", "flip=vertical", "blur=1", "autorotate=false&rotate=270"] {
            try await compareBackends(try Fixture.exifRotatedJPEG.bytes, try recipe(shorthand), label: "exif-rotated.jpg")
        }
    }

    // MARK: Filters

    @Test(arguments: [0.2, 0.5, 1.0, 1.5, 3.0, 8.0, 20.0, 45.0])
    func blur(_ sigma: Double) async throws {
        for (width, height, bands) in [(97, 61, 3), (64, 33, 4), (1, 1, 3), (5, 120, 1), (120, 5, 2)] {
            let image = try randomPNG(width: width, height: height, bands: bands, seed: UInt32(sigma * 10))
            try await compareBackends(image, try recipe("blur=\(sigma)"), label: "random \(width)x\(height)x\(bands)")
        }
        try await compareBackends(try Fixture.photoJPEG.bytes, try recipe("blur=\(sigma)"), label: "photo.jpg")
    }

    @Test func grayscale() async throws {
        for (width, height, bands) in [(256, 256, 3), (77, 31, 4), (1, 1, 3), (13, 7, 1)] {
            let image = try randomPNG(width: width, height: height, bands: bands, seed: 9)
            try await compareBackends(image, try recipe("grayscale=true"), label: "random \(width)x\(height)x\(bands)")
        }
        try await compareBackends(try Fixture.photoJPEG.bytes, try recipe("grayscale=true"), label: "photo.jpg")
        try await compareBackends(try Fixture.alphaPNG.bytes, try recipe("grayscale=true"), label: "alpha.png")
    }

    @Test(arguments: ["brightness=0.1", "contrast=1.4", "gamma=2.2", "brightness=-0.2&contrast=0.7&gamma=0.6"])
    func adjust(_ shorthand: String) async throws {
        try await compareBackends(try Fixture.photoJPEG.bytes, try recipe(shorthand), label: "photo.jpg")
        try await compareBackends(try Fixture.alphaPNG.bytes, try recipe(shorthand), label: "alpha.png")
        try await compareBackends(try randomPNG(width: 31, height: 17, bands: 2), try recipe(shorthand), label: "random 31x17x2")
    }

    @Test(arguments: [0.5, 1.0, 2.5])
    func sharpen(_ sigma: Double) async throws {
        try await compareBackends(try Fixture.photoJPEG.bytes, try recipe("sharpen=\(sigma)"), label: "photo.jpg", exact: false)
        try await compareBackends(try Fixture.alphaPNG.bytes, try recipe("sharpen=\(sigma)"), label: "alpha.png", exact: false)
        for bands in [1, 3] {
            let image = try randomPNG(width: 83, height: 45, bands: bands, seed: 4, smooth: true)
            try await compareBackends(image, try recipe("sharpen=\(sigma)"), label: "random 83x45x\(bands)", exact: false)
        }
    }

    // MARK: Whole recipes

    @Test(arguments: [
        "width=200&rotate=90&flip=horizontal&blur=1.2&grayscale=true",
        "crop_x=20&crop_y=10&crop_width=200&crop_height=150&width=120&height=120&fit=cover&blur=0.8",
        "width=150&height=150&fit=contain&background=336699&rotate=270&brightness=0.05&contrast=1.2",
        "width=128&fast_shrink=false&gamma=1.1&flip=vertical&grayscale=true&blur=2",
        // imgproxy's centred crop, and `auto` after a rotation made the image portrait.
        "crop_width=200&crop_height=150&crop_gravity=centre&width=100", "crop_width=5000&crop_height=90&crop_gravity=centre",
        "rotate=90&width=80&height=60&fit=auto",
    ])
    func chainedRecipes(_ shorthand: String) async throws {
        try await compareBackends(try Fixture.photoJPEG.bytes, try recipe(shorthand), label: "photo.jpg")
    }

    @Test func chainedRecipeWithSharpen() async throws {
        let chain = Recipe([
            .crop(try Crop(x: 10, y: 10, width: 250, height: 200)),
            .resize(try Resize(width: 180, height: 100, fit: .cover)),
            .sharpen(try Sharpen(sigma: 1)),
            .rotate(try Rotate(angle: 90)),
            .adjust(try Adjust(brightness: 0.05, contrast: 1.1, gamma: 1.2)),
        ])
        try await compareBackends(try Fixture.photoJPEG.bytes, chain, label: "photo.jpg", exact: false)
    }
}

/// Compares, or checks that the OpenCL backend declines the image with a
/// typed `unsupported_by_backend` (an input the CPU backend must handle).
func compareOrUnsupported(_ bytes: [UInt8], _ recipe: Recipe, label: String) async throws {
    do {
        var pngRecipe = recipe
        pngRecipe.output.format = .png
        _ = try await OpenCLFixture.backend.process(ImageInput(bytes: bytes, name: label), recipe: pngRecipe)
    } catch let error as ProcessingError {
        #expect(error.code == .unsupportedByBackend, "\(label): \(error)")
        print("opencl-equivalence \(label) [\(recipe.json)]: declined (\(error.message))")
        return
    }
    try await compareBackends(bytes, recipe, label: label)
}
