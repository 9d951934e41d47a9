import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A small S3 client: the requests Calotype needs (GET with a byte cap,
/// HEAD, PUT, a page of LIST, and creating a bucket for tests and set-up),
/// signed with Signature Version 4, on an `HTTPClient` the caller owns.
/// Path-style addressing (`endpoint/bucket/key`), which every S3-compatible
/// service takes and custom endpoints need.
public struct S3Client: Sendable {
    public struct Configuration: Sendable {
        /// `http(s)://host[:port]` (`AWS_ENDPOINT_URL_S3`; AWS:
        /// `https://s3.<region>.amazonaws.com`).
        public var endpoint: URL
        /// `AWS_REGION` (default us-east-1).
        public var region: String
        public var credentials: S3Credentials
        /// How long one request may take, answer included.
        public var timeout: Duration

        public init(endpoint: URL, region: String = "us-east-1", credentials: S3Credentials, timeout: Duration = .seconds(30)) {
            self.endpoint = endpoint
            self.region = region
            self.credentials = credentials
            self.timeout = timeout
        }
    }

    /// An object read whole.
    public struct Object: Sendable {
        public var bytes: [UInt8]
        public var contentType: String?
        public var eTag: String?
        public var lastModified: String?
        /// Its user metadata (`x-amz-meta-*`), by lower-case name without the prefix.
        public var metadata: [String: String] = [:]
    }

    /// An object's description, from HEAD or LIST.
    public struct ObjectInfo: Sendable, Equatable {
        public var key: String
        public var size: Int
        public var eTag: String?
    }

    /// A page of LIST: the objects, and where the next page starts.
    public struct Page: Sendable {
        public var objects: [ObjectInfo]
        public var continuationToken: String?
    }

    public let configuration: Configuration
    private let http: HTTPClient
    private let signer: SigV4Signer
    /// Tests sign at a fixed instant; the client signs now.
    private let now: @Sendable () -> Date

    public init(configuration: Configuration, http: HTTPClient, now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.http = http
        self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
        self.now = now
    }

    /// The object's bytes, refusing it (`tooLarge`) as soon as it is known to
    /// exceed `maxBytes`: from its Content-Length, or while it arrives.
    public func get(bucket: String, key: String, maxBytes: Int) async throws(S3Error) -> Object {
        let response = try await open(bucket: bucket, key: key)
        if let declared = response.headers.first(name: "Content-Length").flatMap(Int.init), declared > maxBytes {
            throw .tooLarge(limit: maxBytes)
        }
        var bytes: [UInt8] = []
        do {
            for try await chunk in response.body {
                guard bytes.count + chunk.readableBytes <= maxBytes else { throw S3Error.tooLarge(limit: maxBytes) }
                // One copy of the chunk's memory (its view's iterator costs
                // a call a byte where NIO is not optimised).
                chunk.withUnsafeReadableBytes { bytes.append(contentsOf: $0) }
            }
        } catch let error as S3Error {
            throw error
        } catch {
            throw Self.transportError(error)
        }
        return Object(
            bytes: bytes,
            contentType: response.headers.first(name: "Content-Type"),
            eTag: response.headers.first(name: "ETag"),
            lastModified: response.headers.first(name: "Last-Modified"),
            metadata: Self.metadata(response.headers)
        )
    }

    /// The object's answer, checked (a missing key is `notFound`), its body
    /// not yet read: for a caller that reads it its own way (booking its
    /// bytes as they arrive, under a deadline of its own).
    public func open(bucket: String, key: String) async throws(S3Error) -> HTTPClientResponse {
        let response = try await send("GET", bucket: bucket, key: key)
        try await Self.check(response, bucket: bucket, key: key)
        return response
    }

    /// The object's size and ETag, or nil when there is no such key.
    public func head(bucket: String, key: String) async throws(S3Error) -> ObjectInfo? {
        let response = try await send("HEAD", bucket: bucket, key: key)
        if response.status == .notFound { return nil }
        try await Self.check(response, bucket: bucket, key: key)
        return ObjectInfo(
            key: key,
            size: response.headers.first(name: "Content-Length").flatMap(Int.init) ?? 0,
            eTag: response.headers.first(name: "ETag")
        )
    }

    /// Stores `bytes` at `key` (replacing what was there), with user
    /// `metadata` (names and values in ASCII letters, digits, `.`, `_`, `-`:
    /// sent as `x-amz-meta-{name}` and signed); returns its ETag.
    @discardableResult
    public func put(
        bucket: String,
        key: String,
        bytes: some RandomAccessCollection<UInt8> & Sendable,
        contentType: String,
        metadata: [(name: String, value: String)] = []
    ) async throws(S3Error) -> String? {
        let response = try await send(
            "PUT",
            bucket: bucket,
            key: key,
            headers: [("Content-Type", contentType), ("Content-Length", String(bytes.count))]
                + metadata.map { (Self.metadataPrefix + $0.name.lowercased(), $0.value) },
            body: Payload(bytes)
        )
        try await Self.check(response, bucket: bucket, key: key)
        return response.headers.first(name: "ETag")
    }

    static let metadataPrefix = "x-amz-meta-"

    /// A request's body and its SHA-256 for the signature, hashed where
    /// the bytes lie (an upload's region of its request body, a result in
    /// libvips' buffer): no copy but the one into the request itself.
    struct Payload: Sendable {
        let sha256: String
        let body: HTTPClientRequest.Body

        init(_ bytes: some RandomAccessCollection<UInt8> & Sendable) {
            sha256 =
                bytes.withContiguousStorageIfAvailable { SigV4Signer.hexSHA256(UnsafeRawBufferPointer($0)) }
                ?? SigV4Signer.hexSHA256(Array(bytes))
            body = .bytes(bytes)
        }
    }

    /// The user metadata an answer carries.
    static func metadata(_ headers: HTTPHeaders) -> [String: String] {
        var metadata: [String: String] = [:]
        for header in headers where header.name.lowercased().hasPrefix(metadataPrefix) {
            metadata[String(header.name.lowercased().dropFirst(metadataPrefix.count))] = header.value
        }
        return metadata
    }

    /// Removes `key`; removing a key that is not there is not an error (as in S3).
    public func delete(bucket: String, key: String) async throws(S3Error) {
        let response = try await send("DELETE", bucket: bucket, key: key)
        if response.status == .notFound { return }
        try await Self.check(response, bucket: bucket, key: key)
    }

    /// One page of the keys under `prefix` (ListObjectsV2).
    public func list(bucket: String, prefix: String, continuationToken: String? = nil, maxKeys: Int = 1000) async throws(S3Error) -> Page {
        var query = [(name: "list-type", value: "2"), (name: "prefix", value: prefix), (name: "max-keys", value: String(maxKeys))]
        if let continuationToken { query.append((name: "continuation-token", value: continuationToken)) }
        let response = try await send("GET", bucket: bucket, key: nil, query: query)
        try await Self.check(response, bucket: bucket, key: prefix)
        return Self.page(listXML: try await Self.text(response, limit: 16 << 20))
    }

    /// The page a ListObjectsV2 answer describes (pure: the fuzz target
    /// `FuzzS3XML` reads answers through it). A `Size` that is not a whole
    /// number of bytes (negative, too large for `Int`, not a number) reads
    /// as 0, as a missing one does.
    static func page(listXML xml: String) -> Page {
        let objects = S3XML.elements("Contents", in: xml).map { entry in
            ObjectInfo(
                key: S3XML.value("Key", in: entry) ?? "",
                size: S3XML.value("Size", in: entry).flatMap(Int.init).flatMap { $0 >= 0 ? $0 : nil } ?? 0,
                eTag: S3XML.value("ETag", in: entry)
            )
        }
        let truncated = S3XML.value("IsTruncated", in: xml) == "true"
        return Page(objects: objects, continuationToken: truncated ? S3XML.value("NextContinuationToken", in: xml) : nil)
    }

    /// Creates `bucket` (an existing one of the same owner is fine).
    package func createBucket(_ bucket: String) async throws(S3Error) {
        let response = try await send("PUT", bucket: bucket, key: nil, headers: [("Content-Length", "0")])
        if response.status == .conflict { return }  // BucketAlreadyOwnedByYou
        try await Self.check(response, bucket: bucket, key: "")
    }

    // MARK: Requests

    private func send(
        _ method: String,
        bucket: String,
        key: String?,
        query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [],
        body: Payload? = nil
    ) async throws(S3Error) -> HTTPClientResponse {
        // A name a service could read as another object is refused as the
        // 400 it should be, without a request.
        if let refused = S3ObjectName.problem(bucket: bucket, key: key) {
            throw .unexpected(status: 400, code: refused.code, message: refused.message)
        }
        let endpoint = configuration.endpoint
        let host = (endpoint.host ?? "") + (endpoint.port.map { ":\($0)" } ?? "")
        let path = "/" + bucket + (key.map { "/" + $0 } ?? "")
        let payload = body?.sha256 ?? SigV4Signer.emptyPayloadSHA256
        let signed = signer.sign(
            .init(method: method, host: host, path: path, query: query, headers: headers, payloadSHA256: payload),
            at: now()
        )
        let queryString = query.isEmpty ? "" : "?" + SigV4Signer.canonicalQuery(query)
        var request = HTTPClientRequest(
            url: "\(endpoint.scheme ?? "https")://\(host)\(S3URIEncoding.encode(path, keepingSlashes: true))\(queryString)"
        )
        request.method = HTTPMethod(rawValue: method)
        for header in signed.headers where header.name != "Host" {
            request.headers.replaceOrAdd(name: header.name, value: header.value)
        }
        if let body { request.body = body.body }
        do {
            return try await http.execute(request, timeout: .nanoseconds(configuration.timeout.nanoseconds))
        } catch {
            throw Self.transportError(error)
        }
    }

    /// Throws the S3 error an unsuccessful answer carries.
    private static func check(_ response: HTTPClientResponse, bucket: String, key: String) async throws(S3Error) {
        guard !(200..<300).contains(response.status.code) else { return }
        let xml = (try? await text(response, limit: 64 << 10)) ?? ""
        let (code, message) = errorDetails(errorXML: xml, reasonPhrase: response.status.reasonPhrase)
        switch response.status.code {
        case 404: throw .notFound(bucket: bucket, key: key)
        case 403: throw .accessDenied(code: code, message: message)
        default: throw .unexpected(status: Int(response.status.code), code: code, message: message)
        }
    }

    /// An error answer's S3 code (or else the HTTP reason phrase) and message
    /// (pure, like `page(listXML:)`).
    static func errorDetails(errorXML xml: String, reasonPhrase: String) -> (code: String, message: String) {
        (S3XML.value("Code", in: xml) ?? reasonPhrase, S3XML.value("Message", in: xml) ?? "")
    }

    private static func text(_ response: HTTPClientResponse, limit: Int) async throws(S3Error) -> String {
        do {
            return String(buffer: try await response.body.collect(upTo: limit))
        } catch {
            throw transportError(error)
        }
    }

    private static func transportError(_ error: any Error) -> S3Error {
        if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
            return .timeout
        }
        return .unreachable("\(error)")
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// The few elements Calotype reads from S3's XML answers (error codes,
/// LIST's entries), found as text: the documents are small and flat.
enum S3XML {
    static func value(_ name: String, in xml: String) -> String? {
        guard let start = xml.range(of: "<\(name)>"), let end = xml.range(of: "</\(name)>", range: start.upperBound..<xml.endIndex) else {
            return nil
        }
        return unescape(String(xml[start.upperBound..<end.lowerBound]))
    }

    static func elements(_ name: String, in xml: String) -> [String] {
        var found: [String] = []
        var rest = xml[...]
        while let start = rest.range(of: "<\(name)>"), let end = rest.range(of: "</\(name)>", range: start.upperBound..<rest.endIndex) {
            found.append(String(rest[start.upperBound..<end.lowerBound]))
            rest = rest[end.upperBound...]
        }
        return found
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
