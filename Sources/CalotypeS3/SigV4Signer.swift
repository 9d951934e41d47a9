import Crypto
import Foundation

/// AWS Signature Version 4 for S3, in the `Authorization` header: what
/// every S3-compatible service (AWS, SeaweedFS, MinIO, R2, ...) checks.
/// Tested against requests signed by botocore (`scripts/make-sigv4-vectors.py`).
public struct SigV4Signer: Sendable {
    /// A request as it will be sent, before signing.
    public struct Request: Sendable {
        public var method: String
        /// `host` or `host:port`, as the `Host` header will say.
        public var host: String
        /// The path, not percent-encoded (`/bucket/summer 2024/a.jpg`).
        public var path: String
        /// Query parameters, not percent-encoded, in any order.
        public var query: [(name: String, value: String)]
        /// Headers to send and sign besides `Host` and the `X-Amz-*` ones the
        /// signer adds (`Content-Type`, `Content-Length`, `X-Amz-Meta-*`).
        public var headers: [(name: String, value: String)]
        /// Hex SHA-256 of the body (of nothing for GET and HEAD).
        public var payloadSHA256: String

        public init(
            method: String,
            host: String,
            path: String,
            query: [(name: String, value: String)] = [],
            headers: [(name: String, value: String)] = [],
            payloadSHA256: String = SigV4Signer.emptyPayloadSHA256
        ) {
            self.method = method
            self.host = host
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadSHA256 = payloadSHA256
        }
    }

    /// A signed request: the headers to send (the caller's, `Host` and the
    /// `X-Amz-*` ones, and `Authorization`), and the steps, for tests and
    /// for explaining a 403.
    public struct Signed: Sendable {
        public var headers: [(name: String, value: String)]
        public var canonicalRequest: String
        public var stringToSign: String
        public var authorization: String
    }

    public static let emptyPayloadSHA256 = hexSHA256(Data())

    public let credentials: S3Credentials
    public let region: String
    public let service: String

    public init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    public func sign(_ request: Request, at date: Date) -> Signed {
        let (amzDate, day) = Self.timestamps(date)
        var headers = request.headers
        headers.append(("Host", request.host))
        headers.append(("X-Amz-Content-SHA256", request.payloadSHA256))
        headers.append(("X-Amz-Date", amzDate))
        if let token = credentials.sessionToken { headers.append(("X-Amz-Security-Token", token)) }

        // Lower-case names, trimmed values with runs of spaces folded, sorted by name.
        let canonicalHeaders =
            headers
            .map { (name: $0.name.lowercased(), value: Self.foldSpaces($0.value)) }
            .sorted { $0.name < $1.name }
        let signedHeaders = canonicalHeaders.map(\.name).joined(separator: ";")
        let canonicalQuery = Self.canonicalQuery(request.query)
        let canonicalRequest = [
            request.method,
            S3URIEncoding.encode(request.path.isEmpty ? "/" : request.path, keepingSlashes: true),
            canonicalQuery,
            canonicalHeaders.map { "\($0.name):\($0.value)\n" }.joined(),
            signedHeaders,
            request.payloadSHA256,
        ].joined(separator: "\n")

        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Self.hexSHA256(Data(canonicalRequest.utf8))].joined(separator: "\n")
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(day: day)))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        headers.append(("Authorization", authorization))
        return Signed(headers: headers, canonicalRequest: canonicalRequest, stringToSign: stringToSign, authorization: authorization)
    }

    /// Names and values encoded, sorted by name (then value), `&`-joined.
    static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { parameter in
            (S3URIEncoding.encode(parameter.name, keepingSlashes: false), S3URIEncoding.encode(parameter.value, keepingSlashes: false))
        }
        let sorted = encoded.sorted { left, right in
            left.name == right.name ? left.value < right.value : left.name < right.name
        }
        return sorted.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    /// HMAC("AWS4" + secret, day) -> region -> service -> "aws4_request".
    private func signingKey(day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Data("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    /// `20261205T093015Z` and `20261205`, in UTC.
    static func timestamps(_ date: Date) -> (amzDate: String, day: String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        let day = String(format: "%04d", parts.year ?? 0) + two(parts.month) + two(parts.day)
        return (day + "T" + two(parts.hour) + two(parts.minute) + two(parts.second) + "Z", day)
    }

    static func foldSpaces(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    public static func hexSHA256(_ data: some DataProtocol) -> String {
        hex(SHA256.hash(data: data))
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
