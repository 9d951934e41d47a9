import Foundation
import Testing

@testable import CalotypeS3

/// Signature Version 4 against requests signed by botocore, the signer the
/// AWS CLI uses (scripts/make-sigv4-vectors.py made sigv4-vectors.json).
@Suite("SigV4: botocore's signatures")
struct SigV4SignerTests {
    struct Vectors: Decodable {
        let made_by: String
        let vectors: [Vector]
    }

    struct Vector: Decodable, CustomTestStringConvertible {
        let name: String
        let method: String
        let url: String
        let headers: [String: String]
        let payload_sha256: String
        let session_token: String?
        let access_key_id: String
        let secret_access_key: String
        let region: String
        let amz_date: String
        let canonical_request: String
        let string_to_sign: String
        let authorization: String

        var testDescription: String { name }
    }

    static let vectors: [Vector] = {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("sigv4-vectors.json")
        return (try? JSONDecoder().decode(Vectors.self, from: Data(contentsOf: file)))?.vectors ?? []
    }()

    /// The vector's request as the client would describe it: the path and
    /// query decoded (the signer encodes them itself).
    static func request(_ vector: Vector) throws -> SigV4Signer.Request {
        let components = try #require(URLComponents(string: vector.url))
        let host = try #require(components.host) + (components.port.map { ":\($0)" } ?? "")
        let query = (components.percentEncodedQuery ?? "").split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            return (name: parts[0], value: parts.count > 1 ? parts[1] : "")
        }
        return SigV4Signer.Request(
            method: vector.method,
            host: host,
            path: try #require(components.percentEncodedPath.removingPercentEncoding),
            query: query,
            headers: vector.headers.map { (name: $0.key, value: $0.value) },
            payloadSHA256: vector.payload_sha256
        )
    }

    static func date(_ amzDate: String) throws -> Date {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return try #require(formatter.date(from: amzDate))
    }

    @Test func thereAreVectors() {
        #expect(Self.vectors.count >= 10)
    }

    @Test(arguments: vectors)
    func signsAsBotocoreDoes(_ vector: Vector) throws {
        let credentials = S3Credentials(
            accessKeyID: vector.access_key_id,
            secretAccessKey: vector.secret_access_key,
            sessionToken: vector.session_token
        )
        let signer = SigV4Signer(credentials: credentials, region: vector.region)
        let signed = signer.sign(try Self.request(vector), at: try Self.date(vector.amz_date))
        #expect(signed.canonicalRequest == vector.canonical_request)
        #expect(signed.stringToSign == vector.string_to_sign)
        #expect(signed.authorization == vector.authorization)
        #expect(signed.headers.contains { $0.name == "Authorization" && $0.value == vector.authorization })
    }

    /// Another secret, another day or another region is another signature.
    @Test func everyPartOfTheScopeCounts() throws {
        let vector = try #require(Self.vectors.first)
        let request = try Self.request(vector)
        let date = try Self.date(vector.amz_date)
        let credentials = S3Credentials(accessKeyID: vector.access_key_id, secretAccessKey: vector.secret_access_key)
        let reference = SigV4Signer(credentials: credentials, region: vector.region).sign(request, at: date).authorization
        var wrongSecret = credentials
        wrongSecret.secretAccessKey += "x"
        #expect(SigV4Signer(credentials: wrongSecret, region: vector.region).sign(request, at: date).authorization != reference)
        #expect(SigV4Signer(credentials: credentials, region: "eu-central-1").sign(request, at: date).authorization != reference)
        #expect(SigV4Signer(credentials: credentials, region: vector.region).sign(request, at: date + 86_400).authorization != reference)
    }

    @Test func credentialsNeverShowTheirSecret() {
        let credentials = S3Credentials(accessKeyID: "AKID", secretAccessKey: "s3cr3t", sessionToken: "t0ken")
        #expect(!"\(credentials)".contains("s3cr3t") && !"\(credentials)".contains("t0ken") && "\(credentials)".contains("AKID"))
    }
}
