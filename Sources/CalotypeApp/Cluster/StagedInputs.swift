import AsyncHTTPClient
import CalotypeCore
import CalotypeS3
import CalotypeSources
import Server

/// The inputs of a cluster's batches: uploads are staged in the results
/// bucket (`{prefix}inputs/{batch}/{index}`) by the node that took the
/// request, so that whichever node claims an item reads its bytes; an item
/// by reference is fetched as on one node, through the allow-list.
///
/// A staged item's source is `staged:{key}`; no source a client sends
/// takes that form (the allow-list knows no such scheme), so a client
/// cannot name another batch's upload.
struct StagedInputs: SourceFetcher {
    let client: S3Client
    let bucket: String
    let prefix: String
    /// Batches by reference.
    let references: (any SourceFetcher)?

    static let scheme = "staged:"

    func key(batch: String, index: Int) -> String {
        "\(prefix)inputs/\(batch)/\(index)"
    }

    /// Stores an upload; returns the item's source.
    func stage(_ bytes: EncodedBytes, batch: String, index: Int) async throws(S3Error) -> String {
        let key = key(batch: batch, index: index)
        _ = try await client.put(bucket: bucket, key: key, bytes: bytes, contentType: "application/octet-stream")
        return Self.scheme + key
    }

    /// Removes a staged upload once its item has ended for good.
    func discard(_ source: String) async throws(S3Error) {
        guard source.hasPrefix(Self.scheme) else { return }
        try await client.delete(bucket: bucket, key: String(source.dropFirst(Self.scheme.count)))
    }

    func check(_ reference: String) throws(SourceError) {
        guard let references else { throw .notAllowed("this node fetches no images by reference (CALOTYPE_ALLOWED_SOURCES is empty)") }
        try references.check(reference)
    }

    /// A staged upload is read from the results bucket within the same
    /// time as a source (the S3 client's own timeout).
    var timeout: Duration { references?.timeout ?? client.configuration.timeout }

    func fetch(
        _ reference: String,
        maxBytes: Int,
        booking: any FetchBooking,
        until deadline: ContinuousClock.Instant
    ) async throws(SourceError) -> FetchedImage {
        guard reference.hasPrefix(Self.scheme) else {
            guard let references else { throw .notAllowed("this node fetches no images by reference (CALOTYPE_ALLOWED_SOURCES is empty)") }
            return try await references.fetch(reference, maxBytes: maxBytes, booking: booking, until: deadline)
        }
        let key = String(reference.dropFirst(Self.scheme.count))
        let client = self.client
        let bucket = self.bucket
        let source = "the upload staged at \(key)"
        return try await FetchDeadline.run(until: deadline, source: source) { () throws(SourceError) in
            let response: HTTPClientResponse
            do throws(S3Error) {
                response = try await client.open(bucket: bucket, key: key)
            } catch {
                if case .notFound = error { throw .notFound("the upload staged at \(key) is gone") }
                throw .unreachable("reading the upload staged at \(key) failed: \(error)")
            }
            return FetchedImage(bytes: try await ArrivingBody.read(response, source: source, cap: maxBytes, booking: booking))
        }
    }
}
