import CalotypeCore

/// One option's arguments, read as imgproxy reads them: an empty argument
/// is "not given", and a malformed one is refused with the option's name.
struct ImgproxyArguments {
    let name: String
    let values: [String]

    init(_ option: ImageURL.Option) {
        (name, values) = (option.name, option.arguments)
    }

    var count: Int { values.count }

    /// The arguments from `index` on (a gravity and its numbers).
    func rest(from index: Int) -> ArraySlice<String> {
        index < values.count ? values[index...] : []
    }

    private func given(_ index: Int) -> String? {
        index < values.count && !values[index].isEmpty ? values[index] : nil
    }

    /// A whole number of at least 0.
    func integer(_ index: Int) throws(ImageURLError) -> Int? {
        guard let text = given(index) else { return nil }
        guard let value = Int(text), value >= 0 else { throw .malformed("\(name): '\(text)' is not a whole number") }
        return value
    }

    /// A finite number of at least 0.
    func number(_ index: Int) throws(ImageURLError) -> Double? {
        guard let text = given(index) else { return nil }
        guard let value = Double(text), value.isFinite, value >= 0 else { throw .malformed("\(name): '\(text)' is not a number") }
        return value
    }

    func flag(_ index: Int) throws(ImageURLError) -> Bool? {
        guard let text = given(index) else { return nil }
        switch text {
        case "1", "t", "true": return true
        case "0", "f", "false": return false
        default: throw .malformed("\(name): '\(text)' is not a boolean (1, t, true, 0, f, false)")
        }
    }

    /// A colour written as imgproxy writes it: hex without `#` (3 or 6 digits).
    func colour(_ index: Int) throws(ImageURLError) -> Colour? {
        guard let text = given(index) else { return nil }
        guard text.count == 3 || text.count == 6, text.allSatisfy(\.isHexDigit), let colour = Colour(shorthand: text) else {
            throw .malformed("\(name): '\(text)' is not a colour (3 or 6 hex digits)")
        }
        return colour
    }

    /// `bg`'s colour: `r:g:b` (0-255 each) or hex; none turns it off.
    func background() throws(ImageURLError) -> Colour? {
        switch values.filter({ !$0.isEmpty }).count {
        case 0:
            return nil
        case 1:
            return try colour(0)
        case 3:
            var parts: [UInt8] = []
            for index in 0..<3 {
                guard let value = try integer(index), value <= 255 else { throw .malformed("\(name): red, green and blue are 0 to 255") }
                parts.append(UInt8(value))
            }
            return Colour(red: parts[0], green: parts[1], blue: parts[2])
        default:
            throw .malformed("\(name) takes r:g:b or a hex colour")
        }
    }
}
