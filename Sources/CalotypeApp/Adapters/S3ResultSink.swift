import AsyncHTTPClient
import CalotypeCore
import CalotypeS3
import Foundation
import Server

/// `/process-and-save` into S3 (`CALOTYPE_SAVE_URL=s3://bucket/prefix/`).
/// Keys are deterministic: the batch, the item's index, a hash of the
/// recipe and the file's name, so a retried save overwrites identical bytes
/// rather than adding a copy.
struct S3ResultSink: ResultSink {
    let client: S3Client
    let bucket: String
    /// Ends with `/` unless empty.
    let prefix: String

    func save(_ bytes: [UInt8], item: SavedItem, format: OutputFormat) async throws -> String {
        let key = Self.key(prefix: prefix, item: item, format: format)
        try await client.put(bucket: bucket, key: key, bytes: bytes, contentType: format.mediaType)
        return "s3://\(bucket)/\(key)"
    }

    static func key(prefix: String, item: SavedItem, format: OutputFormat) -> String {
        "\(prefix)\(item.batchID)/\(item.index)-\(item.recipeHash)-\(item.stem).\(format.fileExtension)"
    }
}

extension S3Client.Configuration {
    /// The standard variables: `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`;
    /// AWS itself without), `AWS_REGION` (or `AWS_DEFAULT_REGION`; us-east-1),
    /// `AWS_ACCESS_KEY_ID`, and the secrets `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN`, which may come from files in the secrets folder.
    static func read(from settings: Settings, for purpose: String) throws(ConfigurationError) -> S3Client.Configuration {
        let region = settings.string("AWS_REGION") ?? settings.string("AWS_DEFAULT_REGION") ?? "us-east-1"
        let endpointText = settings.string("AWS_ENDPOINT_URL_S3") ?? settings.string("AWS_ENDPOINT_URL") ?? "https://s3.\(region).amazonaws.com"
        guard let endpoint = URL(string: endpointText), ["http", "https"].contains(endpoint.scheme?.lowercased() ?? ""), endpoint.host != nil else {
            throw ConfigurationError(variable: "AWS_ENDPOINT_URL_S3", value: endpointText, allowed: "an http(s) URL")
        }
        guard let keyID = settings.string("AWS_ACCESS_KEY_ID"), let secret = settings.secret("AWS_SECRET_ACCESS_KEY") else {
            throw ConfigurationError(variable: "AWS_ACCESS_KEY_ID", value: "", allowed: "set, with AWS_SECRET_ACCESS_KEY, for \(purpose)")
        }
        let credentials = S3Credentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: settings.secret("AWS_SESSION_TOKEN"))
        return S3Client.Configuration(endpoint: endpoint, region: region, credentials: credentials)
    }
}
