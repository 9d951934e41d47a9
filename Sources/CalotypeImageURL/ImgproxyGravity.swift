import CalotypeCore

/// imgproxy's gravity as a URL writes it: a type and its two numbers
/// (offsets for the compass types, the point for `fp`).
public struct ImgproxyGravity: Sendable, Equatable {
    /// `ce`, `no`, `so`, `ea`, `we`, `noea`, `nowe`, `soea`, `sowe`, `sm` or `fp`.
    public var type = "ce"
    public var x = 0.0
    public var y = 0.0

    public init(type: String = "ce", x: Double = 0, y: Double = 0) {
        (self.type, self.x, self.y) = (type, x, y)
    }

    /// The compass types, by imgproxy's names, as the recipe's gravities.
    static let compass: [String: String] = [
        "ce": "centre", "no": "north", "so": "south", "ea": "east", "we": "west",
        "noea": "north_east", "nowe": "north_west", "soea": "south_east", "sowe": "south_west",
    ]

    /// `type[:x:y]`: a compass type with offsets (pixels from 1 up, else a
    /// fraction of the image), `sm` where `allowsSmart`, or `fp:x:y`
    /// (fractions 0...1).
    init(_ args: ArraySlice<String>, option: String, allowsSmart: Bool = true) throws(ImageURLError) {
        let type = args.first.flatMap { $0.isEmpty ? nil : $0 } ?? "ce"
        let numbers = Array(args.dropFirst())
        func number(_ index: Int, in range: ClosedRange<Double>) throws(ImageURLError) -> Double {
            guard index < numbers.count, !numbers[index].isEmpty else { return 0 }
            guard let value = Double(numbers[index]), range.contains(value) else {
                throw .malformed("\(option): '\(numbers[index])' is not a number in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        switch type {
        case "fp":
            guard numbers.count == 2 else { throw .malformed("\(option): fp takes a point, fp:x:y (fractions 0 to 1)") }
            self.init(type: type, x: try number(0, in: 0...1), y: try number(1, in: 0...1))
        case "sm" where allowsSmart:
            guard numbers.isEmpty else { throw .malformed("\(option): sm takes no offsets") }
            self.init(type: type)
        case _ where Self.compass[type] != nil:
            guard numbers.count <= 2 else { throw .malformed("\(option): \(type) takes at most two offsets, x and y") }
            self.init(type: type, x: try number(0, in: Position.offsetRange), y: try number(1, in: Position.offsetRange))
        default:
            throw .unsupported(
                "\(option): gravity '\(type)' is not supported (ce, no, so, ea, we, noea, nowe, soea, sowe\(allowsSmart ? ", sm" : ""), fp; obj and objw are imgproxy Pro's)"
            )
        }
    }

    /// Offsets of 1 or more are pixels, scaled by the device pixel ratio
    /// (fractions and focus points are not).
    func scaled(by dpr: Double) -> ImgproxyGravity {
        guard type != "fp", dpr != 1 else { return self }
        func scale(_ value: Double) -> Double { abs(value) >= 1 ? (value * dpr).rounded() : value }
        return ImgproxyGravity(type: type, x: scale(x), y: scale(y))
    }

    /// The recipe's gravity and its numbers for an operation whose
    /// shorthand keys are `gravityKey` and `prefix` + `offset_x`, ... .
    func fields(prefix: String, gravityKey: String) -> [(key: String, value: String)] {
        if type == "fp" {
            return [(gravityKey, "focus"), ("\(prefix)focus_x", "\(x)"), ("\(prefix)focus_y", "\(y)")]
        }
        if type == "sm" { return [(gravityKey, "attention")] }
        var fields: [(key: String, value: String)] = []
        if let name = Self.compass[type], name != "centre" || x != 0 || y != 0 { fields.append((gravityKey, name)) }
        if x != 0 { fields.append(("\(prefix)offset_x", "\(x)")) }
        if y != 0 { fields.append(("\(prefix)offset_y", "\(y)")) }
        return fields
    }
}
