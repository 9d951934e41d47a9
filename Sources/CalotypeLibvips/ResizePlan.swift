import CalotypeCore

/// The arithmetic of one `resize`: target box, scale factors and the final
/// crop or padding, computed once from the image's size so that every
/// backend (and the decoder's shrink-on-load) agrees on it.
package struct ResizePlan: Equatable {
    /// Horizontal and vertical scale factors applied by the Lanczos step.
    package let horizontalScale: Double
    package let verticalScale: Double
    /// For `cover`: the box cut out of the scaled image.
    package let cropWidth: Int?
    package let cropHeight: Int?
    /// For `contain`: the canvas the scaled image is centred on.
    package let canvasWidth: Int?
    package let canvasHeight: Int?

    package init(_ asked: Resize, imageWidth: Int, imageHeight: Int) {
        // `auto` against this image (the same answer in the stored
        // orientation, with the box turned to match, as in the shown one).
        let resize = asked.resolved(forWidth: imageWidth, height: imageHeight)
        let width = Double(imageWidth)
        let height = Double(imageHeight)
        let boxWidth = resize.width.map(Double.init) ?? .infinity
        let boxHeight = resize.height.map(Double.init) ?? .infinity
        let limit = resize.enlarge ? Double.infinity : 1
        var hscale: Double
        var vscale: Double
        switch resize.effectiveFit {
        case .inside, .contain, .auto:  // `auto` was resolved above
            hscale = min(boxWidth / width, boxHeight / height, limit)
            vscale = hscale
        case .cover:
            hscale = min(max(boxWidth / width, boxHeight / height), limit)
            vscale = hscale
        case .fill:
            hscale = min(boxWidth / width, limit)
            vscale = min(boxHeight / height, limit)
        }
        if let scale = resize.scale {
            hscale = min(scale, limit)
            vscale = hscale
        }
        // At least the minimum sizes, enlarging if need be (imgproxy's
        // min-width and min-height scale up whatever `enlarge` says).
        if let minWidth = resize.minWidth, width * hscale < Double(minWidth) {
            let factor = Double(minWidth) / (width * hscale)
            (hscale, vscale) = (hscale * factor, vscale * factor)
        }
        if let minHeight = resize.minHeight, height * vscale < Double(minHeight) {
            let factor = Double(minHeight) / (height * vscale)
            (hscale, vscale) = (hscale * factor, vscale * factor)
        }
        horizontalScale = hscale
        verticalScale = vscale
        if resize.effectiveFit == .cover, let w = resize.width, let h = resize.height {
            cropWidth = w
            cropHeight = h
        } else {
            cropWidth = nil
            cropHeight = nil
        }
        if resize.effectiveFit == .contain {
            canvasWidth = resize.width
            canvasHeight = resize.height
        } else {
            canvasWidth = nil
            canvasHeight = nil
        }
    }

    /// The sizes this resize makes of a `width` x `height` image: the scaled
    /// image (before `cover`'s crop) and, for `contain`, the canvas; what
    /// the output pixel cap is checked against before anything is decoded.
    package func plannedSizes(imageWidth width: Int, imageHeight height: Int) -> [(width: Int, height: Int)] {
        func scaled(_ length: Int, _ scale: Double) -> Int {
            let value = (Double(length) * scale).rounded()
            return value.isFinite && value < 1e9 ? max(1, Int(value)) : 1_000_000_000
        }
        var sizes = [(scaled(width, horizontalScale), scaled(height, verticalScale))]
        if let canvasWidth, let canvasHeight { sizes.append((canvasWidth, canvasHeight)) }
        return sizes
    }

    /// The largest power-of-two shrink (1, 2, 4 or 8) a decoder may apply
    /// and still leave at least the target size: what `fast_shrink` asks of
    /// the JPEG and WebP decoders.
    package var fastDecoderShrink: Int {
        let largestScale = max(horizontalScale, verticalScale)
        guard largestScale > 0 else { return 1 }
        var factor = 1
        while factor < 8, Double(factor * 2) * largestScale <= 1 {
            factor *= 2
        }
        return factor
    }
}
