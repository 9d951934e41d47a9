import CalotypeCore
import Foundation

/// Where an image is, by reference: `http(s)://host/path`, `s3://bucket/key`
/// or `local:///path` (under the configured root).
public enum SourceReference: Hashable, Sendable, CustomStringConvertible {
    case http(URL)
    case s3(bucket: String, key: String)
    case local(path: String)

    public init(_ text: String) throws(SourceError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw .invalidReference(text, "not a URL")
        }
        guard components.user == nil, components.password == nil else {
            throw .invalidReference(text, "a source URL may not carry a user or password")
        }
        switch scheme {
        case "http", "https":
            guard let host = components.host, !host.isEmpty, let url = components.url else {
                throw .invalidReference(text, "an http(s) source needs a host")
            }
            self = .http(url)
        case "s3":
            guard let bucket = components.host, !bucket.isEmpty else { throw .invalidReference(text, "an s3 source needs a bucket") }
            self = .s3(bucket: bucket, key: String(components.path.drop { $0 == "/" }))
        case "local":
            guard (components.host ?? "").isEmpty, components.path.hasPrefix("/") else {
                throw .invalidReference(text, "a local source is local:///path")
            }
            let parts = components.path.split(separator: "/")
            guard !parts.contains("..") else { throw .invalidReference(text, "a local source may not climb with ..") }
            self = .local(path: "/" + parts.joined(separator: "/"))
        default:
            throw .invalidReference(text, "sources are http(s)://, s3:// or local:/// URLs")
        }
    }

    /// The form allow-list prefixes are compared with: scheme and host in
    /// lower case, default ports dropped, no query or fragment.
    public var normalised: String {
        switch self {
        case .http(let url):
            let scheme = (url.scheme ?? "https").lowercased()
            let host = (url.host ?? "").lowercased()
            let defaultPort = scheme == "https" ? 443 : 80
            let port = url.port.flatMap { $0 == defaultPort ? nil : ":\($0)" } ?? ""
            let path = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedPath ?? url.path
            return "\(scheme)://\(host)\(port)\(path.isEmpty ? "/" : path)"
        case .s3(let bucket, let key):
            return "s3://\(bucket)/\(key)"
        case .local(let path):
            return "local://\(path)"
        }
    }

    /// Whether it can stand as an allow-list prefix (no query, fragment).
    var isValidPrefix: Bool {
        if case .http(let url) = self { return url.query == nil && url.fragment == nil }
        return true
    }

    public var description: String { normalised }
}
