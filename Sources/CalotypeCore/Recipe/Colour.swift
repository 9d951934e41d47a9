/// An 8-bit RGBA colour, written `#rrggbb` or `#rrggbbaa` (`#rgb` is accepted).
public struct Colour: ParameterValue {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8
    public var alpha: UInt8

    public static let white = Colour(red: 255, green: 255, blue: 255)
    public static let black = Colour(red: 0, green: 0, blue: 0)
    /// Nothing to see: white where a format has no alpha.
    public static let transparent = Colour(red: 255, green: 255, blue: 255, alpha: 0)

    public init(red: UInt8, green: UInt8, blue: UInt8, alpha: UInt8 = 255) {
        self.red = red
        self.green = green
        self.blue = blue
        self.alpha = alpha
    }

    public init?(shorthand: String) {
        var hex = Substring(shorthand)
        if hex.hasPrefix("#") { hex = hex.dropFirst() }
        if hex.count == 3 { hex = Substring(hex.flatMap { [$0, $0] }) }
        guard hex.count == 6 || hex.count == 8, let packed = UInt32(hex, radix: 16) else { return nil }
        let value = hex.count == 6 ? packed << 8 | 0xFF : packed
        self.init(
            red: UInt8(truncatingIfNeeded: value >> 24),
            green: UInt8(truncatingIfNeeded: value >> 16),
            blue: UInt8(truncatingIfNeeded: value >> 8),
            alpha: UInt8(truncatingIfNeeded: value)
        )
    }

    public var shorthand: String {
        let components = alpha == 255 ? [red, green, blue] : [red, green, blue, alpha]
        return "#"
            + components.map { byte in
                let digits = String(byte, radix: 16)
                return digits.count == 1 ? "0" + digits : digits
            }.joined()
    }

    public static var typeName: String { "colour" }
    public static var jsonSchema: JSONValue { ["type": "string", "pattern": "^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$"] }
    public static var isSpelledAsText: Bool { true }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let colour = Colour(shorthand: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a colour: \(text)"))
        }
        self = colour
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(shorthand)
    }
}
