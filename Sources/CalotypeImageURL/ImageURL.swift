import Foundation

/// The path of `GET /img/{signature}/{options}/{source}`, in imgproxy's
/// format: the signature segment, processing options (`name:arg:arg`
/// segments), and the source: `plain/{percent-encoded URL}[@{extension}]`,
/// or the URL base64url-encoded (optionally split by slashes) with an
/// optional `.{extension}`.
public struct ImageURL: Sendable, Equatable {
    public struct Option: Sendable, Equatable {
        public var name: String
        public var arguments: [String]

        public init(name: String, arguments: [String]) {
            self.name = name
            self.arguments = arguments
        }
    }

    public var signature: String
    /// What the signature signs: everything after it, the leading `/` included.
    public var signedPath: String
    public var options: [Option]
    /// The source URL, decoded.
    public var source: String
    /// The output format asked by the source's extension, if any.
    public var extensionFormat: String?

    /// Parses the path after `/img/`, as it arrived (percent-encoded).
    public init(path: String) throws(ImageURLError) {
        var segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard segments.count >= 2, let first = segments.first, !first.isEmpty else { throw .malformed("no signature segment") }
        signature = first
        segments.removeFirst()
        signedPath = "/" + segments.joined(separator: "/")
        var options: [Option] = []
        while let segment = segments.first, segment != "plain", segment != "enc", segment.contains(":") {
            options.append(Self.option(segment))
            segments.removeFirst()
        }
        self.options = options
        guard let head = segments.first, !head.isEmpty else { throw .malformed("no source after the options") }
        switch head {
        case "plain":
            var plain = segments.dropFirst().joined(separator: "/")
            extensionFormat = nil
            if let at = plain.lastIndex(of: "@") {
                extensionFormat = String(plain[plain.index(after: at)...])
                plain = String(plain[..<at])
            }
            guard let decoded = plain.removingPercentEncoding, !decoded.isEmpty else {
                throw .malformed("the plain source is not percent-encoded text")
            }
            source = decoded
        case "enc":
            throw .unsupported("encrypted source URLs (enc/) are not supported")
        default:
            var encoded = segments.joined()
            extensionFormat = nil
            if let dot = encoded.lastIndex(of: ".") {
                extensionFormat = String(encoded[encoded.index(after: dot)...])
                encoded = String(encoded[..<dot])
            }
            guard let bytes = URLSigningKeys.base64URLDecode(encoded), let text = String(bytes: bytes, encoding: .utf8), !text.isEmpty else {
                throw .malformed("the source is neither plain/... nor base64url")
            }
            source = text
        }
        if extensionFormat?.isEmpty == true { extensionFormat = nil }
    }
}

extension ImageURL {
    /// One `name:arg:arg` segment.
    static func option(_ segment: String) -> Option {
        let parts = segment.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        return Option(name: parts[0], arguments: Array(parts.dropFirst()))
    }

    /// Options written as in a path, `name:arg/name:arg` (a preset's
    /// definition, `CALOTYPE_PRESETS`): each segment must be an option.
    public static func options(_ text: String) throws(ImageURLError) -> [Option] {
        var options: [Option] = []
        for segment in text.split(separator: "/", omittingEmptySubsequences: false).map(String.init) {
            guard segment.contains(":"), !segment.hasPrefix(":") else { throw .malformed("'\(segment)' is not an option (name:argument)") }
            options.append(option(segment))
        }
        return options
    }
}

public enum ImageURLError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformed(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .malformed(let why): "the image URL is malformed: \(why)"
        case .unsupported(let what): what
        }
    }
}
