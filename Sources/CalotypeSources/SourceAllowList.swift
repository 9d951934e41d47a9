import CalotypeCore
import Foundation

/// The sources an operator allows (`CALOTYPE_ALLOWED_SOURCES`, comma
/// separated prefixes: `https://images.example.com/`, `s3://photos/in/`,
/// `local:///srv/images/`). Empty allows nothing, so nothing is fetched
/// until an operator says so.
///
/// A prefix matches at a boundary only: `https://images.example.com`
/// allows `https://images.example.com/a.jpg`, never
/// `https://images.example.com.attacker.net/a.jpg` or
/// `https://images.example.com@attacker.net/`. Both sides are compared
/// normalised (`SourceReference.normalised`), and a reference in a form
/// that parsing refuses (a dot segment, say, in one made from its parts)
/// is never permitted, whatever its text starts with.
public struct SourceAllowList: Sendable, Equatable {
    public let prefixes: [String]

    /// Parses the setting; a prefix that is not an http(s), s3 or local URL
    /// is an error that names it.
    public init(_ setting: String) throws(SourceError) {
        var prefixes: [String] = []
        for raw in setting.split(separator: ",") {
            let text = raw.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { continue }
            guard let reference = try? SourceReference(text), reference.isValidPrefix else {
                throw .invalidReference(text, "an allowed source must be an http(s)://host/, s3://bucket/ or local:///folder/ prefix")
            }
            prefixes.append(reference.normalised.hasSuffix("/") ? reference.normalised : reference.normalised + "/")
        }
        self.prefixes = prefixes
    }

    public func permits(_ reference: SourceReference) -> Bool {
        guard (try? reference.validate()) != nil else { return false }
        let text = reference.normalised
        return prefixes.contains { text.hasPrefix($0) }
    }
}
