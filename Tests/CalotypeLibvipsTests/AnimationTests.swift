import BackendTestSupport
import CalotypeCore
import CalotypeLibvips
import Foundation
import NIOPosix
import TestSupport
import Testing

@Suite("Animations: every frame through the recipe, delays and loop kept")
struct AnimationTests {
    func process(_ bytes: [UInt8], _ shorthand: String, limits: ImageLimits = ImageLimits()) async throws -> ProcessedImage {
        let backend = try LibvipsBackend(configuration: .init(limits: limits), threadPool: testJobThreads)
        return try await backend.process(ImageInput(bytes: bytes, name: "animation"), recipe: try recipe(shorthand))
    }

    /// Each frame resized on its own: the frame count, the delays and the
    /// loop count are the source's, and each frame keeps its own colour.
    @Test(arguments: [OutputFormat.gif, .webp])
    func aResizedAnimationKeepsItsFrames(_ format: OutputFormat) async throws {
        let source = try Animation.make(frames: 5, width: 80, height: 60, delays: [40, 80, 120, 160, 200], loop: 3, format: format)
        #expect(ImageSize.sniff(source) == ImageSize(width: 80, height: 60, frames: 5), "frames counted from the file's blocks")
        let result = try await process(source, "width=40&format=\(format.rawValue)")
        #expect(result.format == format && result.frames == 5 && (result.width, result.height) == (40, 30))
        let decoded = try DecodedAnimation(result.bytes)
        #expect(decoded.frames == 5 && decoded.width == 40 && decoded.height == 30)
        #expect(decoded.delays == [40, 80, 120, 160, 200])
        #expect(decoded.loop == 3)
        for frame in 0..<5 {
            #expect(near(decoded.pixel(frame: frame, 30, 20), Animation.colour(frame)), "frame \(frame): \(decoded.pixel(frame: frame, 30, 20))")
        }
    }

    /// `original` keeps a GIF a GIF, and so its animation.
    @Test func theOriginalFormatOfAnAnimatedGIFIsAnAnimatedGIF() async throws {
        let result = try await process(try Animation.make(frames: 3), "width=20")
        #expect(result.format == .gif && result.frames == 3)
        #expect(try DecodedAnimation(result.bytes).frames == 3)
    }

    /// No operation reads across a frame's edge: a blur of solid frames
    /// keeps each frame's colour to its top and bottom rows (a blur of the
    /// whole strip would mix neighbours there).
    @Test func aBlurStaysInsideEachFrame() async throws {
        let source = try Animation.make(frames: 4, width: 40, height: 40, format: .webp)
        let decoded = try DecodedAnimation(try await process(source, "blur=4&format=webp").bytes)
        #expect(decoded.frames == 4)
        for frame in 0..<4 {
            for y in [0, 39] {
                #expect(near(decoded.pixel(frame: frame, 35, y), Animation.colour(frame), tolerance: 12), "frame \(frame), row \(y)")
            }
        }
    }

    /// Crop, flip and rotate work frame by frame: the black square of the
    /// top left quarter lands where each operation puts it, in every frame.
    @Test func cropFlipAndRotateWorkOnEveryFrame() async throws {
        let source = try Animation.make(frames: 3, width: 40, height: 40)
        let decoded = try DecodedAnimation(try await process(source, "rotate=90&flip=vertical&format=gif").bytes)
        #expect(decoded.frames == 3 && decoded.width == 40 && decoded.height == 40)
        for frame in 0..<3 {
            // Turned 90 clockwise: top right; flipped upside down: bottom right.
            #expect(near(decoded.pixel(frame: frame, 36, 36), [0, 0, 0]), "frame \(frame)")
            #expect(near(decoded.pixel(frame: frame, 3, 3), Animation.colour(frame)), "frame \(frame)")
        }
        let cropped = try DecodedAnimation(try await process(source, "crop_width=20&crop_height=20&format=gif").bytes)
        #expect(cropped.frames == 3 && cropped.width == 20 && cropped.height == 20)
        #expect(near(cropped.pixel(frame: 2, 2, 2), [0, 0, 0]) && near(cropped.pixel(frame: 2, 15, 15), Animation.colour(2)))
    }

    /// Formats without animation take the first frame.
    @Test(arguments: [OutputFormat.jpeg, .png, .avif])
    func aStillFormatTakesTheFirstFrame(_ format: OutputFormat) async throws {
        let result = try await process(try Animation.make(frames: 4), "width=20&format=\(format.rawValue)")
        #expect(result.frames == 1 && (result.width, result.height) == (20, 15))
        let decoded = try Decoded(result.bytes)
        #expect(near(Array(decoded.pixel(15, 10).prefix(3)), Animation.colour(0), tolerance: 40), "\(decoded.pixel(15, 10))")
    }

    /// Trimming each frame would cut each differently: refused, as imgproxy does.
    @Test func anAnimationIsNotTrimmed() async throws {
        let refusal = await #expect(throws: ProcessingError.self) { try await process(try Animation.make(frames: 3), "trim=10&format=gif") }
        #expect(refusal?.code == .invalidForImage && refusal?.message.contains("trim") == true)
        #expect(try await process(try Animation.make(frames: 3), "trim=10&format=png").frames == 1, "its first frame may be")
    }

    /// More frames than the limit are refused before decoding; a limit of 1
    /// turns animation off (the first frame, as imgproxy's default).
    @Test func framesAreBoundedAndOneFrameTurnsAnimationOff() async throws {
        let source = try Animation.make(frames: 6)
        let refusal = await #expect(throws: ProcessingError.self) {
            try await process(source, "width=20&format=gif", limits: ImageLimits(maxAnimationFrames: 5))
        }
        #expect(refusal?.code == .tooLarge && refusal?.message.contains("6 frames; the limit is 5") == true, "\(String(describing: refusal))")
        let still = try await process(source, "width=20&format=gif", limits: ImageLimits(maxAnimationFrames: 1))
        #expect(try still.frames == 1 && DecodedAnimation(still.bytes).frames == 1)
        // Every frame's pixels count: 6 frames of 40x30 against a limit of 5,000 pixels.
        let tooMany = await #expect(throws: ProcessingError.self) {
            try await process(source, "format=gif", limits: ImageLimits(maxPixels: 5_000))
        }
        #expect(tooMany?.code == .tooLarge)
    }

    /// A 10,000-frame GIF (70 KB of 1x1 frames) is refused from its block
    /// headers, before a frame is decoded.
    @Test func tenThousandFramesAreRefusedBeforeDecoding() async throws {
        let bytes = HostileImages.animatedGIF(frames: 10_000)
        #expect(ImageSize.sniff(bytes) == ImageSize(width: 1, height: 1, frames: 10_000))
        let refusal = await #expect(throws: ProcessingError.self) { try await process(bytes, "format=gif") }
        #expect(refusal?.code == .tooLarge, "\(String(describing: refusal))")
        #expect(refusal?.message.contains("10000 frames") == true, "\(String(describing: refusal))")
    }
}
