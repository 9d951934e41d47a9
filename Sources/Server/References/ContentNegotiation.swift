import CalotypeCore
import CalotypeImageURL
import Crypto
import Foundation

/// The conditional-request and format-negotiation rules of `GET /img`.
enum ContentNegotiation {
    /// The first of `preferred` that `accept` lists by its exact media type
    /// with a quality above zero; nil: the source's own format. Wildcards
    /// (`image/*`, `*/*`) choose nothing: a client that lists every type
    /// has said nothing about AVIF, and old browsers send exactly that.
    static func format(accept: String?, preferred: [OutputFormat]) -> OutputFormat? {
        guard let accept, !preferred.isEmpty else { return nil }
        var accepted = Set<String>()
        for entry in accept.split(separator: ",") {
            let parts = entry.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let type = parts.first, !type.isEmpty else { continue }
            let quality = parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            if quality > 0 { accepted.insert(type) }
        }
        return preferred.first { accepted.contains($0.mediaType) }
    }

    /// A strong entity tag for an answer: the source's bytes (their SHA-256,
    /// so a changed origin image changes the tag even if the origin's own
    /// validators do not), the options as their recipe's canonical JSON
    /// (never a Swift description, which may change with the compiler), and
    /// the format written.
    static func entityTag(source: [UInt8], recipe: String, format: OutputFormat?) -> String {
        var hash = SHA256()
        hash.update(data: SHA256.hash(data: source).withUnsafeBytes { Array($0) })
        hash.update(data: Array("\(recipe)|\(format?.rawValue ?? "source")".utf8))
        let digest = Array(hash.finalize()).prefix(18)
        return "\"\(URLSigningKeys.base64URLEncode(Array(digest)))\""
    }

    /// Whether `If-None-Match` names `tag` (weak comparison, as RFC 9110
    /// asks for this header: `W/"x"` matches `"x"`), or is `*`.
    static func matches(ifNoneMatch: String?, tag: String) -> Bool {
        guard let ifNoneMatch else { return false }
        for candidate in ifNoneMatch.split(separator: ",") {
            var text = candidate.trimmingCharacters(in: .whitespaces)
            if text == "*" { return true }
            if text.hasPrefix("W/") { text.removeFirst(2) }
            if text == tag { return true }
        }
        return false
    }
}
