/// Percent-encoding as Signature Version 4 wants it: every byte of the
/// UTF-8 form except the unreserved `A-Z a-z 0-9 - . _ ~` becomes `%XX`
/// with upper-case hex; `/` stays in object key paths and is encoded in
/// query strings. (S3 paths are encoded once, not twice as other services.)
enum S3URIEncoding {
    static func encode(_ text: String, keepingSlashes: Bool) -> String {
        var encoded = ""
        encoded.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepingSlashes && byte == UInt8(ascii: "/")) {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%" + String(hexDigits[Int(byte >> 4)]) + String(hexDigits[Int(byte & 0x0F)])
            }
        }
        return encoded
    }

    private static let hexDigits = Array("0123456789ABCDEF")

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}

/// The buckets and keys the client sends, as a defence behind the callers'
/// own checks: a path-style request is `/bucket/key`, and a service that
/// cleans paths (SeaweedFS, MinIO, a proxy in front) would read
/// `in/../../other-bucket/k` or `in//k` as another object, in another
/// bucket, than the one asked for. Such names, and control characters and
/// backslashes (which some services read as `/`), are refused before
/// anything is sent.
enum S3ObjectName {
    /// Why `bucket` and `key` (nil: the bucket itself) may not be sent; nil when they may.
    static func problem(bucket: String, key: String?) -> (code: String, message: String)? {
        if bucket.isEmpty || bucket.allSatisfy({ $0 == "." }) || bucket.contains("/") || hasOddCharacter(bucket) {
            return ("InvalidBucketName", "'\(escaped(bucket))' is not a bucket name; nothing was sent")
        }
        guard let key else { return nil }
        let segments = key.split(separator: "/", omittingEmptySubsequences: false)
        if hasOddCharacter(key) || segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
            return (
                "InvalidObjectName", "the key '\(escaped(key))' has an empty, . or .. segment, a control character or a backslash; nothing was sent"
            )
        }
        return nil
    }

    private static func hasOddCharacter(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.generalCategory == .control || $0 == "\\" }
    }

    private static func escaped(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
    }
}
