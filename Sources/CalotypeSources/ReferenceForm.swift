import Foundation

/// The forms of a reference's text that are refused before it is compared
/// with the allow-list or sent anywhere. An allow-list compares text, and
/// what is sent is that text: a path that an origin, an S3 service or a
/// file system reads differently from the way the allow-list read it
/// (`in/../other`, `in/%2e%2e/other`, `in/..%2fother`, `in\..\other`,
/// `in//k`, a newline) could lead outside the prefix that allowed it, so
/// such a path is refused rather than cleaned up.
enum ReferenceForm {
    /// Why the raw text may not be a reference: a control character, a
    /// backslash (which some servers read as `/`), or a `%` that is not
    /// followed by two hex digits (Foundation would encode it as `%25` and
    /// so change what the text means). Nil when it may.
    static func rawProblem(_ text: some StringProtocol) -> String? {
        var scalars = text.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            if scalar.properties.generalCategory == .control { return "it contains a control character" }
            if scalar == "\\" { return "it contains a backslash" }
            if scalar == "%" {
                guard let high = scalars.next(), let low = scalars.next(), high.properties.isASCIIHexDigit, low.properties.isASCIIHexDigit else {
                    return "it contains a % that is not a percent-escape"
                }
            }
        }
        return nil
    }

    /// The bytes a percent-encoded text stands for (escapes that are not
    /// two hex digits stay as they are: `rawProblem` refuses them first).
    static func decoded(_ encoded: some StringProtocol) -> [UInt8] {
        let bytes = Array(encoded.utf8)
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
            {
                decoded.append(high << 4 | low)
                index += 3
            } else {
                decoded.append(bytes[index])
                index += 1
            }
        }
        return decoded
    }

    /// A percent-encoded path decoded, or why it is refused: it must be
    /// UTF-8 once decoded (which also refuses the overlong forms of `.` and
    /// `/`), and hold no control character, no backslash (raw or `%5c`), no
    /// dot segment and no empty segment but a trailing one, whether the
    /// segments are separated by `/` or `%2f`.
    static func decodedPath(_ encoded: some StringProtocol) -> Result<String, PathProblem> {
        guard let path = String(validating: decoded(encoded), as: UTF8.self) else { return .failure(.notUTF8) }
        if let problem = pathProblem(path) { return .failure(problem) }
        return .success(path)
    }

    /// Why a decoded path (absolute or relative) is refused; nil when it may be used.
    static func pathProblem(_ path: String) -> PathProblem? {
        if path.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return .controlCharacter }
        if path.contains("\\") { return .backslash }
        var segments = path.split(separator: "/", omittingEmptySubsequences: false)[...]
        if path.hasPrefix("/") { segments = segments.dropFirst() }
        for (offset, segment) in segments.enumerated() {
            if segment.isEmpty && offset != segments.count - 1 { return .emptySegment }
            if isDotSegment(segment) { return .dotSegment }
        }
        return nil
    }

    /// `.` and `..`, and the names servers read as them: `..;x` (a path
    /// parameter, which Tomcat strips), `...` and `.. ` (Windows strips
    /// trailing dots and spaces), and the dots that Unicode's compatibility
    /// folding (NFKC, which some frameworks apply to paths) turns into `.`
    /// or `..`: the full-width dot, the one-dot and two-dot leaders, the
    /// ellipsis, the small full stop. A name made only of dots and spaces is
    /// never an image's.
    static func isDotSegment(_ segment: Substring) -> Bool {
        let name = segment.prefix { $0 != ";" }.precomposedStringWithCompatibilityMapping
        return name.contains(".") && name.allSatisfy { $0 == "." || $0 == " " }
    }

    /// Whether a percent-encoded query or fragment decodes to a control character.
    static func hasControlCharacter(encoded text: some StringProtocol) -> Bool {
        String(decoding: decoded(text), as: UTF8.self).unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    /// A host name or S3 bucket: letters, digits, `-`, `.` and `_` (an
    /// internationalised name in its `xn--` form), and not dots alone.
    /// No `%`: an escaped host is read differently by different parsers.
    static func isPlainName(_ name: some StringProtocol) -> Bool {
        !name.isEmpty && !name.allSatisfy { $0 == "." }
            && name.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-._".unicodeScalars.contains($0))
            }
    }

    enum PathProblem: Error, Equatable, CustomStringConvertible {
        case notUTF8, controlCharacter, backslash, dotSegment, emptySegment

        var description: String {
            switch self {
            case .notUTF8: "its path is not UTF-8 once percent-decoded"
            case .controlCharacter: "its path contains a control character"
            case .backslash: "its path contains a backslash"
            case .dotSegment: "its path has a . or .. segment (raw or percent-encoded)"
            case .emptySegment: "its path has an empty segment (//)"
            }
        }
    }

    /// The text as it may be quoted in a message: control characters
    /// escaped, so that a refused reference cannot write lines into a log.
    static func quoted(_ text: String) -> String {
        var quoted = ""
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control {
                quoted += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                quoted.unicodeScalars.append(scalar)
            }
        }
        return quoted
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
