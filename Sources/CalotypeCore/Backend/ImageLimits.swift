import Foundation

/// What an input may be before it is decoded, and what a recipe may make of
/// it. Checked against the header and the planned sizes, so a small file
/// declaring a huge image, or a recipe enlarging a small one to 268
/// megapixels, costs nothing.
public struct ImageLimits: Sendable, Hashable {
    /// Largest width x height accepted (default 50 megapixels), for inputs
    /// and for every image a recipe makes on the way to its output.
    public var maxPixels: Int
    /// Largest encoded input accepted (default 64 MiB).
    public var maxBytes: Int
    /// Most scans a JPEG may have (default 128). Each scan of a progressive
    /// JPEG is a pass over the whole image: 2,657 scans of 7000x7000 cost
    /// 63 s of CPU. Encoders write at most about 10; libjpeg-turbo's own
    /// tools cap them (`djpeg -maxscans`) for this reason.
    public var maxJPEGScans: Int
    /// How damaged an input may be unless its recipe says (`fail_on`);
    /// default: refused on any decoder warning.
    public var failOn: DamagedInput
    /// Most frames of an animated GIF or WebP kept in a GIF or WebP output
    /// (default 100; 1 turns animation off: the first frame only, as
    /// imgproxy's default). More are refused before decoding, and every
    /// frame's pixels count against `maxPixels`.
    public var maxAnimationFrames: Int

    public init(
        maxPixels: Int = 50_000_000,
        maxBytes: Int = 64 << 20,
        maxJPEGScans: Int = 128,
        failOn: DamagedInput = .default,
        maxAnimationFrames: Int = 100
    ) {
        self.maxPixels = maxPixels
        self.maxBytes = maxBytes
        self.maxJPEGScans = maxJPEGScans
        self.failOn = failOn
        self.maxAnimationFrames = maxAnimationFrames
    }

    /// The most frames allowed; no more than this many are ever counted.
    public static let animationFramesCeiling = 10_000

    /// Whether an output keeps an animation at all.
    public var keepsAnimations: Bool { maxAnimationFrames > 1 }

    /// Refuses an input whose header declares more than `maxPixels` (all
    /// its `frames` when the output keeps them), or more frames than
    /// `maxAnimationFrames`, before anything is decoded, reserved or
    /// estimated from it. The sizes are a header's (up to 2^32 - 1 each),
    /// so their product is checked for overflow rather than computed.
    public func checkDeclared(width: Int, height: Int, frames: Int = 1, label: String) throws(ProcessingError) {
        if frames > 1 {
            guard frames <= maxAnimationFrames else {
                throw ProcessingError(
                    .tooLarge,
                    "\(label) is an animation of \(frames) frames; the limit is \(maxAnimationFrames) (CALOTYPE_MAX_ANIMATION_FRAMES)"
                )
            }
            let (strip, overflow) = height.multipliedReportingOverflow(by: frames)
            if let size = overflow ? "too many" : excess(width: width, height: strip) {
                throw ProcessingError(
                    .tooLarge,
                    "\(label) is \(frames) frames of \(width)x\(height) (\(size) MP); the limit is \(Self.megapixels(maxPixels)) MP"
                )
            }
            return
        }
        guard let size = excess(width: width, height: height) else { return }
        throw ProcessingError(.tooLarge, "\(label) is \(width)x\(height) (\(size) MP); the limit is \(Self.megapixels(maxPixels)) MP")
    }

    /// Refuses an image the recipe would make beyond `maxPixels`, before
    /// any of its pixels are computed.
    package func checkPlanned(width: Int, height: Int, stage: String) throws(ProcessingError) {
        guard let size = excess(width: width, height: height) else { return }
        throw ProcessingError(
            .tooLarge,
            "\(stage) would make a \(width)x\(height) image (\(size) MP); the limit is \(Self.megapixels(maxPixels)) MP"
        )
    }

    /// The megapixels of `width` x `height` as a message words them, when
    /// they are over `maxPixels` (or too many to count); nil within it.
    private func excess(width: Int, height: Int) -> String? {
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        if overflow { return "too many" }
        return pixels > maxPixels ? Self.megapixels(pixels) : nil
    }

    package static func megapixels(_ pixels: Int) -> String {
        (Double(pixels) / 1_000_000).formatted(.number.precision(.fractionLength(0...1)))
    }
}
