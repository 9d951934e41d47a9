import BackendTestSupport
import CalotypeCore
import CalotypeLibvips
import Foundation
import TestSupport
import Testing

@Suite("Limits on what one image may cost, checked before decoding")
struct CostLimitTests {
    @Test func scansAreCountedFromTheMarkers() async throws {
        let baseline = try await offThePool { try SyntheticImage.jpeg(width: 320, height: 240, seed: 4) }
        let progressive = try await offThePool { try ProgressiveJPEG.standard(from: baseline) }
        let many = try await offThePool { try ProgressiveJPEG.manyScans(from: baseline) }
        let bomb = try await offThePool { try ProgressiveJPEG.scanBomb(from: baseline) }
        func scans(_ bytes: [UInt8], limit: Int = 10_000) -> Int { bytes.withUnsafeBytes { JPEGScans.count($0, stoppingAfter: limit) } }
        #expect(scans(baseline) == 1)
        #expect((2...12).contains(scans(progressive)))
        #expect(scans(many) == 89)
        #expect(scans(bomb) == 2660)
        #expect(scans(bomb, limit: 128) == 129)  // stops counting past the limit
        #expect(scans(Array("not a jpeg".utf8)) == 0)
    }

    @Test func aScanBombIsRefusedAndAnOrdinaryProgressiveJPEGIsNot() async throws {
        let backend = try libvips
        let photo = try await offThePool { try SyntheticImage.jpeg(width: 640, height: 480, seed: 5) }
        let bomb = try await offThePool { try ProgressiveJPEG.scanBomb(from: photo) }
        let error = await #expect(throws: ProcessingError.self) {
            try await backend.process(ImageInput(bytes: bomb, name: "bomb.jpg"), recipe: try recipe("width=100"))
        }
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("128 scans") == true)
        let progressive = try await offThePool { try ProgressiveJPEG.standard(from: photo) }
        #expect(try await backend.process(ImageInput(bytes: progressive, name: "p.jpg"), recipe: try recipe("width=100")).width == 100)
        let many = try await offThePool { try ProgressiveJPEG.manyScans(from: photo) }
        #expect(try await backend.process(ImageInput(bytes: many, name: "many.jpg"), recipe: try recipe("width=100")).width == 100)
        // The limit is the operator's to set.
        let strict = try LibvipsBackend(configuration: .init(limits: ImageLimits(maxJPEGScans: 64)), threadPool: .singleton)
        let refused = await #expect(throws: ProcessingError.self) {
            try await strict.process(ImageInput(bytes: many, name: "many.jpg"), recipe: try recipe("width=100"))
        }
        #expect(refused?.code == .tooLarge)
    }

    @Test(arguments: [
        "width=16384&height=16384&fit=fill&enlarge=true",  // 268 MP from 0.08
        "width=16384&height=16384&fit=contain",  // a 268 MP canvas, no enlargement
        "width=8000&height=8000&fit=cover&enlarge=true",  // 107 MP scaled before the crop to 64 MP
        #"{"ops":[{"op":"flip","direction":"horizontal"},{"op":"resize","width":16000,"enlarge":true}]}"#,  // after another operation
    ])
    func anOutputBeyondThePixelCapIsRefusedBeforeAnyPixel(_ text: String) async throws {
        let recipe = text.hasPrefix("{") ? try Recipe(json: Array(text.utf8)) : try recipe(text)
        let error = await #expect(throws: ProcessingError.self) {
            try await libvips.process(try Fixture.photoJPEG.input, recipe: recipe)
        }
        #expect(error?.code == .tooLarge)
        #expect(error?.message.contains("would make a") == true)
    }

    @Test func anEnlargementWithinTheCapIsServed() async throws {
        let result = try await libvips.process(try Fixture.photoJPEG.input, recipe: try recipe("width=3000&enlarge=true"))
        #expect(result.width == 3000)
        let capped = try LibvipsBackend(configuration: .init(limits: ImageLimits(maxPixels: 5_000_000)), threadPool: .singleton)
        let error = await #expect(throws: ProcessingError.self) {
            try await capped.process(try Fixture.photoJPEG.input, recipe: try recipe("width=3000&enlarge=true"))
        }
        #expect(error?.code == .tooLarge)
    }
}

@Suite("Damaged inputs")
struct DamagedInputTests {
    /// A photo with 2,000 bytes of its entropy-coded data flipped (the
    /// headers intact): libjpeg decodes it to garbage, with warnings.
    static func flippedPhoto() async throws -> [UInt8] {
        try await offThePool { DamagedJPEG.flipped(try SyntheticImage.jpeg(width: 1200, height: 900, seed: 21)) }
    }

    @Test func damagedDataIsRefusedByDefault() async throws {
        let flipped = try await Self.flippedPhoto()
        let error = await #expect(throws: ProcessingError.self) {
            try await libvips.process(ImageInput(bytes: flipped, name: "flipped.jpg"), recipe: try recipe("width=300"))
        }
        #expect(error?.code == .corrupt)
        #expect(error?.blame == .input)
    }

    @Test func aRecipeOrTheOperatorMayAcceptIt() async throws {
        let flipped = ImageInput(bytes: try await Self.flippedPhoto(), name: "flipped.jpg")
        #expect(try await libvips.process(flipped, recipe: try recipe("width=300&fail_on=none")).width == 300)
        let lenient = try LibvipsBackend(configuration: .init(limits: ImageLimits(failOn: .none)), threadPool: .singleton)
        #expect(try await lenient.process(flipped, recipe: try recipe("width=300")).width == 300)
        // And the recipe wins over the operator both ways.
        let error = await #expect(throws: ProcessingError.self) {
            try await lenient.process(flipped, recipe: try recipe("width=300&fail_on=warning"))
        }
        #expect(error?.code == .corrupt)
    }

    @Test func undamagedInputsPassTheStrictestPolicy() async throws {
        for fixture in [Fixture.photoJPEG, .exifRotatedJPEG, .alphaPNG, .photoWebP, .photoGIF] {
            #expect(try await libvips.process(try fixture.input, recipe: try recipe("width=50&fail_on=warning")).width == 50)
        }
    }
}
