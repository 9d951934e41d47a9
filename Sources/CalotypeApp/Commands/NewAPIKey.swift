import Foundation
import Server

/// `calotype keys new`: a new API key, shown once, and its entry for the
/// keys file, which holds the key's SHA-256 and never the key.
public struct NewAPIKey: Sendable {
    /// `cal_` and 32 random bytes in base64url: 256 bits, from the system's
    /// cryptographic generator.
    public let key: String
    /// One JSON object, to add to the file's `keys` list.
    public let entry: String

    /// Why the entry would not be accepted: the keys file's own message.
    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    public init(name: String, scopes: [String], rate: Double? = nil, maxInFlight: Int? = nil) throws(Refusal) {
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &random) }
        let key =
            "cal_"
            + Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        var object: [String: Any] = ["name": name, "sha256": APIKeys.digestHex(of: key), "scopes": scopes]
        if let rate { object["rate"] = rate }
        if let maxInFlight { object["max_in_flight"] = maxInFlight }
        let entry: String
        do {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            entry = String(decoding: data, as: UTF8.self)
            // The server's reading of the file is the one check.
            _ = try APIKeys(json: Data(#"{"keys": [\#(entry)]}"#.utf8))
        } catch {
            throw Refusal(description: "\(error)")
        }
        self.key = key
        self.entry = entry
    }
}
