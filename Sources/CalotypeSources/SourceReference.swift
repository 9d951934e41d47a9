import CalotypeCore
import Foundation

/// Where an image is, by reference: `http(s)://host/path`, `s3://bucket/key`
/// or `local:///path` (under the configured root).
///
/// A reference is refused (`invalidReference`) in any form that an origin,
/// an S3 service or a file system could read differently from the way the
/// allow-list reads it (see `ReferenceForm`): control characters,
/// backslashes and malformed escapes anywhere; `.`, `..` and empty
/// segments in the path, raw or percent-encoded; a query or fragment on an
/// `s3://` or `local:///` reference (never dropped: `?acl=public-read`
/// means something to S3); a control character in an http(s) query.
/// So what is compared is what is sent, and it stays under its prefix.
public enum SourceReference: Hashable, Sendable, CustomStringConvertible {
    case http(URL)
    case s3(bucket: String, key: String)
    case local(path: String)

    public init(_ text: String) throws(SourceError) {
        func invalid(_ why: String) -> SourceError { .invalidReference(ReferenceForm.quoted(text), why) }
        if let problem = ReferenceForm.rawProblem(text) { throw invalid(problem) }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw invalid("not a URL")
        }
        guard components.user == nil, components.password == nil else {
            throw invalid("a source URL may not carry a user or password")
        }
        let path: String
        switch ReferenceForm.decodedPath(components.percentEncodedPath) {
        case .success(let decoded): path = decoded
        case .failure(let problem): throw invalid(problem.description)
        }
        let host = components.percentEncodedHost ?? ""
        switch scheme {
        case "http", "https":
            guard !host.isEmpty else { throw invalid("an http(s) source needs a host") }
            guard Self.ipv6Literal(host) != nil || ReferenceForm.isPlainName(host) else {
                throw invalid("its host is neither a name (letters, digits, '-', '.') nor an IP address")
            }
            if let port = components.port, !(0...65535).contains(port) { throw invalid("its port is over 65535") }
            for part in [components.percentEncodedQuery, components.percentEncodedFragment] {
                if let part, ReferenceForm.hasControlCharacter(encoded: part) { throw invalid("its query or fragment contains a control character") }
            }
            guard let url = components.url else { throw invalid("not a URL") }
            self = .http(url)
        case "s3":
            guard ReferenceForm.isPlainName(host) else { throw invalid("an s3 source needs a bucket (letters, digits, '-', '.', '_')") }
            guard components.port == nil, components.percentEncodedQuery == nil, components.percentEncodedFragment == nil else {
                throw invalid("an s3 reference is s3://bucket/key, with no port, query or fragment")
            }
            self = .s3(bucket: host, key: String(path.dropFirst()))
        case "local":
            guard host.isEmpty, components.port == nil, path.hasPrefix("/") else { throw invalid("a local source is local:///path") }
            guard components.percentEncodedQuery == nil, components.percentEncodedFragment == nil else {
                throw invalid("a local source is local:///path, with no query or fragment")
            }
            self = .local(path: path)
        default:
            throw invalid("sources are http(s)://, s3:// or local:/// URLs")
        }
    }

    /// Throws `invalidReference` when the reference is in a form that
    /// parsing refuses: for one made from its parts (a redirect's URL, a
    /// key) rather than parsed, before it is compared or used.
    func validate() throws(SourceError) {
        switch self {
        case .http(let url):
            guard case .http = try SourceReference(url.absoluteString) else {
                throw .invalidReference(ReferenceForm.quoted(url.absoluteString), "not an http(s) URL")
            }
        case .s3(let bucket, let key):
            guard ReferenceForm.isPlainName(bucket) else { throw .invalidReference(ReferenceForm.quoted(bucket), "not an S3 bucket name") }
            if key.hasPrefix("/") { throw .invalidReference(ReferenceForm.quoted(description), ReferenceForm.PathProblem.emptySegment.description) }
            if let problem = ReferenceForm.pathProblem(key) { throw .invalidReference(ReferenceForm.quoted(description), problem.description) }
        case .local(let path):
            guard path.hasPrefix("/") else { throw .invalidReference(ReferenceForm.quoted(description), "a local source is local:///path") }
            if let problem = ReferenceForm.pathProblem(path) { throw .invalidReference(ReferenceForm.quoted(description), problem.description) }
        }
    }

    /// For the HTTP fetcher, on a redirect's raw `Location` before it is
    /// resolved: refuses (`notAllowed`) what a source's parse refuses in
    /// the location's path, whether it is absolute (`http://host/a/../b`),
    /// network-path (`//host/a/%2e%2e/b`) or relative (`../b`,
    /// `a/..%2fb`), and control characters in its query or fragment.
    /// Resolving would remove raw dot segments but not encoded ones, and a
    /// relative `..` is only ever a way out of the folder that was allowed.
    /// The resolved URL is still checked as a source (allow-list, addresses).
    public static func checkRedirectTarget(_ location: String) throws(SourceError) {
        func refused(_ why: String) -> SourceError {
            .notAllowed("a redirect to '\(ReferenceForm.quoted(location))' was refused: \(why)")
        }
        if let problem = ReferenceForm.rawProblem(location) { throw refused(problem) }
        var rest = Substring(location)
        for separator: Character in ["#", "?"] {
            if let start = rest.firstIndex(of: separator) {
                if ReferenceForm.hasControlCharacter(encoded: rest[start...]) { throw refused("its query or fragment contains a control character") }
                rest = rest[..<start]
            }
        }
        // A scheme (`http:`) and an authority (`//host:port`) are not path.
        if let colon = rest.firstIndex(of: ":"), let first = rest.first, first.isLetter,
            rest[..<colon].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) })
        {
            rest = rest[rest.index(after: colon)...]
        }
        if rest.hasPrefix("//") {
            let authority = rest.dropFirst(2)
            rest = authority[(authority.firstIndex(of: "/") ?? authority.endIndex)...]
        }
        if case .failure(let problem) = ReferenceForm.decodedPath(rest) { throw refused(problem.description) }
    }

    /// The form allow-list prefixes are compared with: scheme and host in
    /// lower case (an IPv6 host in brackets and in its one canonical text,
    /// so that `[::1]:8080` is never read as `[::1:8080]`), default ports
    /// dropped, no query or fragment.
    public var normalised: String {
        switch self {
        case .http(let url):
            let scheme = (url.scheme ?? "https").lowercased()
            let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
            let rawHost = components?.percentEncodedHost ?? url.host ?? ""
            let host = Self.ipv6Literal(rawHost).map { "[\($0)]" } ?? rawHost.lowercased()
            let defaultPort = scheme == "https" ? 443 : 80
            let port = url.port.flatMap { $0 == defaultPort ? nil : ":\($0)" } ?? ""
            let path = components?.percentEncodedPath ?? url.path
            return "\(scheme)://\(host)\(port)\(path.isEmpty ? "/" : path)"
        case .s3(let bucket, let key):
            return "s3://\(bucket)/\(key)"
        case .local(let path):
            return "local://\(path)"
        }
    }

    /// The host an http(s) URL connects to, as a resolver or an address
    /// parser takes it: an IPv6 literal without its brackets (Foundations
    /// differ in whether `host` keeps them).
    static func hostName(of url: URL) -> String? {
        guard let host = URLComponents(url: url, resolvingAgainstBaseURL: false)?.host ?? url.host, !host.isEmpty else { return nil }
        return host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    }

    /// The IPv6 address a URL's host is, with (`[::1]`, as URLs write it)
    /// or without brackets; nil for a name or an IPv4 address.
    static func ipv6Literal(_ host: String) -> IPAddress? {
        let inner = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        guard inner.contains(":"), let address = IPAddress(inner), case .v6 = address else { return nil }
        return address
    }

    /// Whether it can stand as an allow-list prefix (no query, fragment).
    var isValidPrefix: Bool {
        if case .http(let url) = self { return url.query == nil && url.fragment == nil }
        return true
    }

    public var description: String { normalised }
}
