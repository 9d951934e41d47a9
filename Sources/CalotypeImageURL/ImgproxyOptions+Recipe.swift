import CalotypeCore

extension ImgproxyOptions {
    /// The recipe. `auto`, gravities and the crop are operations of the
    /// recipe, resolved against the decoded image in the pipeline (as
    /// imgproxy does), so nothing is read before the job.
    public func recipe() throws(RecipeError) -> Recipe {
        // Fields, not a query string: a value is read as it was written
        // (`1e+308` in a query string reads back as `1e 308`).
        try Recipe(shorthandFields: try recipeFields())
    }

    /// The recipe's fields, in the shorthand's order (imgproxy's): trim,
    /// crop, resize, rotate, the filters, extend, padding, background.
    func recipeFields() throws(RecipeError) -> [(key: String, value: String)] {
        var fields: [(key: String, value: String)] = []
        if let trim {
            fields.append(("trim", "\(trim.threshold)"))
            if let colour = trim.colour { fields.append(("trim_colour", colour.shorthand)) }
            if trim.equalHorizontal { fields.append(("trim_equal_horizontal", "true")) }
            if trim.equalVertical { fields.append(("trim_equal_vertical", "true")) }
        }
        if let crop {
            // Before scaling: the crop is the source's, in its pixels (no dpr).
            fields += [("crop_width", "\(crop.width)"), ("crop_height", "\(crop.height)")]
            let placing = (cropGravity ?? gravity).fields(prefix: "crop_", gravityKey: "crop_gravity")
            // imgproxy's crop is centred by default; the recipe's default is at x, y.
            fields += placing.isEmpty ? [("crop_gravity", "centre")] : placing
        }
        let (boxWidth, boxHeight) = (width.map { Self.scaled($0, by: dpr * zoomX) }, height.map { Self.scaled($0, by: dpr * zoomY) })
        fields += try resizeFields(boxWidth: boxWidth, boxHeight: boxHeight)
        // Mirrored both ways is turned half round: the shorthand flips once.
        let halfTurn = flipHorizontal && flipVertical ? 180 : 0
        let angle = ((rotate ?? 0) + halfTurn) % 360
        if angle != 0 { fields.append(("rotate", "\(angle)")) }
        if flipHorizontal != flipVertical { fields.append(("flip", flipHorizontal ? "horizontal" : "vertical")) }
        if let blur { fields.append(("blur", "\(blur)")) }
        if let sharpen { fields.append(("sharpen", "\(sharpen)")) }
        if let pixelate { fields.append(("pixelate", "\(pixelate)")) }
        fields += extendFields(boxWidth: boxWidth, boxHeight: boxHeight)
        if let padding {
            let sides = [
                ("padding_top", padding.top), ("padding_right", padding.right), ("padding_bottom", padding.bottom), ("padding_left", padding.left),
            ]
            fields += sides.filter { $0.1 > 0 }.map { ($0.0, "\(Self.scaled($0.1, by: dpr))") }
            if let background { fields.append(("padding_background", background.shorthand)) }
        }
        if let background { fields.append(("flatten", background.shorthand)) }
        if let watermark {
            fields.append(("watermark", "\(watermark.opacity)"))
            let place = watermark.position == "re" ? "replicate" : ImgproxyGravity.compass[watermark.position] ?? "centre"
            if place != "centre" { fields.append(("watermark_position", place)) }
            let offsets = ImgproxyGravity(type: "ce", x: watermark.x, y: watermark.y).scaled(by: dpr)
            if offsets.x != 0 { fields.append(("watermark_offset_x", "\(offsets.x)")) }
            if offsets.y != 0 { fields.append(("watermark_offset_y", "\(offsets.y)")) }
            if watermark.scale > 0 { fields.append(("watermark_scale", "\(watermark.scale)")) }
        }
        if let quality {
            fields.append(("quality", "\(quality)"))
        } else {
            fields += formatQuality.sorted { $0.key < $1.key }.map { ("quality_\($0.key)", "\($0.value)") }
        }
        if let maxBytes { fields.append(("max_bytes", "\(maxBytes)")) }
        if let format { fields.append(("format", format)) }
        if let stripMetadata { fields.append(("strip", "\(stripMetadata)")) }
        if let autoRotate { fields.append(("autorotate", "\(autoRotate)")) }
        return fields
    }

    /// The box times the device pixel ratio and the zoom; without a box, a
    /// scale (the zoom and the ratio), and the least sizes.
    private func resizeFields(boxWidth: Int?, boxHeight: Int?) throws(RecipeError) -> [(key: String, value: String)] {
        var fields: [(key: String, value: String)] = []
        if boxWidth != nil || boxHeight != nil {
            if let boxWidth { fields.append(("width", "\(boxWidth)")) }
            if let boxHeight { fields.append(("height", "\(boxHeight)")) }
            fields.append(("fit", fit))
            if resizingType == .fill || resizingType == .auto {
                fields += gravity.scaled(by: dpr).fields(prefix: "", gravityKey: "gravity")
            }
        } else if dpr * zoomX != 1 || dpr * zoomY != 1 || minWidth != nil || minHeight != nil {
            guard zoomX == zoomY else {
                throw RecipeError(
                    field: "scale",
                    reason: .malformed("z:x:y with two factors needs a width or a height (a scale without a box is one factor)")
                )
            }
            fields.append(("scale", "\(dpr * zoomX)"))
        } else {
            return []
        }
        if let minWidth { fields.append(("min_width", "\(Self.scaled(minWidth, by: dpr))")) }
        if let minHeight { fields.append(("min_height", "\(Self.scaled(minHeight, by: dpr))")) }
        if enlarge { fields.append(("enlarge", "true")) }
        return fields
    }

    /// `ex`: the asked box as the canvas's least size; else `exar`: its
    /// aspect ratio (both sides asked). Nothing without a box.
    private func extendFields(boxWidth: Int?, boxHeight: Int?) -> [(key: String, value: String)] {
        var fields: [(key: String, value: String)] = []
        if let placement = extend, boxWidth != nil || boxHeight != nil {
            if let boxWidth { fields.append(("extend_width", "\(boxWidth)")) }
            if let boxHeight { fields.append(("extend_height", "\(boxHeight)")) }
            fields += placement.scaled(by: dpr).fields(prefix: "extend_", gravityKey: "extend_gravity")
        } else if let placement = extendAspectRatio, let boxWidth, let boxHeight {
            fields += [("extend_width", "\(boxWidth)"), ("extend_height", "\(boxHeight)"), ("extend_mode", "aspect")]
            fields += placement.scaled(by: dpr).fields(prefix: "extend_", gravityKey: "extend_gravity")
        } else {
            return []
        }
        if let background { fields.append(("extend_background", background.shorthand)) }
        return fields
    }

    /// `value` times `factor`, rounded, at least 1; out-of-range results
    /// are left for the recipe's own range check to refuse.
    static func scaled(_ value: Int, by factor: Double) -> Int {
        guard factor != 1 else { return value }
        let scaled = (Double(value) * factor).rounded()
        return scaled.isFinite && scaled < 1e9 ? max(1, Int(scaled)) : 1_000_000_000
    }

    private var fit: String {
        switch resizingType {
        case .fit: "inside"
        case .fill: "cover"
        case .force: "fill"
        case .auto: "auto"
        }
    }
}
