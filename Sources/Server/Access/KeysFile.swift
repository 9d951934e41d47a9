import Foundation

/// The keys file as JSON: decoded loosely (every member optional, unknown
/// ones noted), so that `APIKeys` can say which entry is wrong and why.
struct KeysFile: Decodable {
    let keys: [Entry]

    struct Limits: Equatable {
        let rate: Double?
        let maxInFlight: Int?
    }

    struct Entry: Decodable {
        enum Member: String, CaseIterable, CodingKey {
            case name, sha256, scopes, rate
            case maxInFlight = "max_in_flight"
        }

        let name: String?
        let sha256: String?
        let scopes: [String]?
        let rate: Double?
        /// A number, so that 2.5 is refused by `APIKeys` with its own sentence.
        let maxInFlight: Double?
        /// Members no key has (a typo, such as `scope`), sorted.
        let unknownMembers: [String]

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Member.self)
            name = try container.decodeIfPresent(String.self, forKey: .name)
            sha256 = try container.decodeIfPresent(String.self, forKey: .sha256)
            scopes = try container.decodeIfPresent([String].self, forKey: .scopes)
            rate = try container.decodeIfPresent(Double.self, forKey: .rate)
            maxInFlight = try container.decodeIfPresent(Double.self, forKey: .maxInFlight)
            let every = try decoder.container(keyedBy: AnyMember.self)
            unknownMembers = every.allKeys.map(\.stringValue).filter { Member(stringValue: $0) == nil }.sorted()
        }
    }

    private enum RootMember: String, CodingKey {
        case keys
    }

    init(from decoder: any Decoder) throws {
        let every = try decoder.container(keyedBy: AnyMember.self)
        if let unknown = every.allKeys.map(\.stringValue).filter({ $0 != "keys" }).sorted().first {
            throw APIKeysError(#"has '\#(unknown)': the file is one object with one member, "keys""#)
        }
        keys = try decoder.container(keyedBy: RootMember.self).decode([Entry].self, forKey: .keys)
    }

    private struct AnyMember: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// A decoding error as a sentence that says where in the file.
    static func explain(_ error: any Error) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            var words: [String] = []
            for key in codingPath {
                if let index = key.intValue { words.append("key \(index + 1)") } else if key.stringValue != "keys" { words.append(key.stringValue) }
            }
            return words.isEmpty ? "the file" : words.joined(separator: ": ")
        }
        switch error as? DecodingError {
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)) must be \(describe(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) must be \(describe(type)), not null"
        case .keyNotFound(let key, _) where key.stringValue == "keys":
            return #"must be one object with one member, "keys": a list of keys"#
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath)) lacks \(key.stringValue)"
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return "is not JSON"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        default:
            return "is not a keys file (\(error))"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "text"
        case is Double.Type: "a number"
        case is Int.Type: "a whole number"
        case is [String].Type: "a list of text"
        default: #"one object with one member, "keys": a list of keys"#
        }
    }
}
