import Crypto
import Foundation

/// imgproxy's URL signatures, so that its signing libraries and users' URL
/// builders work with `GET /img/...` unchanged: the signature is
/// base64url(HMAC-SHA256(key, salt + path)) without padding, where `path` is
/// everything after the signature segment, its leading `/` included, and key
/// and salt are configured hex-encoded (`CALOTYPE_SIGNING_KEY`,
/// `CALOTYPE_SIGNING_SALT`). Several pairs, comma separated, may be valid
/// at once, so that a key can be rotated without breaking the URLs signed
/// with the old one; new URLs are signed with the first.
public struct URLSigningKeys: Sendable {
    public struct Pair: Sendable {
        let key: SymmetricKey
        let salt: [UInt8]
    }

    public let pairs: [Pair]

    /// Parses the settings: as many salts as keys, each hex.
    public init(keys: String, salts: String) throws(URLSigningError) {
        let keyList = keys.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let saltList = salts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard keyList.count == saltList.count else { throw .mismatchedPairs(keys: keyList.count, salts: saltList.count) }
        var pairs: [Pair] = []
        for (key, salt) in zip(keyList, saltList) {
            guard let keyBytes = Self.hexBytes(key), !keyBytes.isEmpty else { throw .notHex("CALOTYPE_SIGNING_KEY") }
            guard let saltBytes = Self.hexBytes(salt) else { throw .notHex("CALOTYPE_SIGNING_SALT") }
            pairs.append(Pair(key: SymmetricKey(data: keyBytes), salt: saltBytes))
        }
        self.pairs = pairs
    }

    /// The signature of `path` with the first pair.
    public func sign(_ path: String) -> String? {
        pairs.first.map { Self.signature(of: path, with: $0) }
    }

    /// Whether `signature` signs `path` with any of the pairs (compared in
    /// constant time).
    public func verify(_ signature: String, path: String) -> Bool {
        guard let given = Self.base64URLDecode(signature) else { return false }
        return pairs.contains { pair in
            HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: pair.salt + Array(path.utf8), using: pair.key)
        }
    }

    static func signature(of path: String, with pair: Pair) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: pair.salt + Array(path.utf8), using: pair.key)
        return base64URLEncode(Array(code))
    }

    static func hexBytes(_ text: String) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }

    public static func base64URLEncode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func base64URLDecode(_ text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64).map(Array.init)
    }
}

public enum URLSigningError: Error, Sendable, Equatable, CustomStringConvertible {
    case mismatchedPairs(keys: Int, salts: Int)
    case notHex(String)

    public var description: String {
        switch self {
        case .mismatchedPairs(let keys, let salts):
            "CALOTYPE_SIGNING_KEY has \(keys) keys and CALOTYPE_SIGNING_SALT \(salts) salts; they go in pairs"
        case .notHex(let setting): "\(setting) must be hex-encoded"
        }
    }
}
