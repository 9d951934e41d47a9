import AsyncHTTPClient
import CalotypeCore
import CalotypeS3
import CalotypeSources
import Foundation
import Server

/// The server's `SourceFetcher`: a reference is parsed, checked against the
/// allow-list (and, for http(s), every address it resolves or redirects
/// to against the address guard), then read from its origin, its S3 bucket
/// or the local root.
struct ReferenceFetcher: SourceFetcher {
    let policy: SourcePolicy
    let http: HTTPSourceFetcher
    /// For `s3://` sources: the configured service (`AWS_*`); nil refuses them.
    let s3: S3Client?
    /// For `local:///` sources (`CALOTYPE_LOCAL_SOURCES_ROOT`); nil refuses them.
    let local: LocalSourceReader?

    func check(_ reference: String) throws(SourceError) {
        _ = try checked(reference)
    }

    /// The reference parsed, listed, and with a reader configured for its kind.
    private func checked(_ reference: String) throws(SourceError) -> SourceReference {
        let parsed = try SourceReference(reference)
        try policy.checkListed(parsed)
        switch parsed {
        case .s3 where s3 == nil:
            throw .notAllowed("s3:// sources need an S3 service (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3)")
        case .local where local == nil:
            throw .notAllowed("local:/// sources need a root folder (CALOTYPE_LOCAL_SOURCES_ROOT)")
        default:
            return parsed
        }
    }

    var timeout: Duration { http.limits.totalTimeout }

    func fetch(
        _ reference: String,
        maxBytes: Int,
        booking: any FetchBooking,
        until deadline: ContinuousClock.Instant
    ) async throws(SourceError) -> FetchedImage {
        let parsed = try checked(reference)
        // http(s) hops are checked again, with their addresses, by the fetcher.
        switch parsed {
        case .http(let url):
            let fetched = try await http.fetch(url, maxBytes: maxBytes, booking: booking, until: deadline)
            return FetchedImage(bytes: fetched.bytes, lastModified: fetched.lastModified)
        case .s3(let bucket, let key):
            guard let s3 else { throw .notAllowed("no S3 service is configured") }
            let source = parsed.description
            return try await FetchDeadline.run(until: deadline, source: source) { () throws(SourceError) in
                let response: HTTPClientResponse
                do throws(S3Error) {
                    response = try await s3.open(bucket: bucket, key: key)
                } catch {
                    throw Self.sourceError(error, reference: source)
                }
                let bytes = try await ArrivingBody.read(response, source: source, cap: maxBytes, booking: booking)
                return FetchedImage(bytes: bytes, lastModified: response.headers.first(name: "Last-Modified"))
            }
        case .local(let path):
            guard let local else { throw .notAllowed("no local root is configured") }
            let bytes = try await FetchDeadline.run(until: deadline, source: parsed.description) { () throws(SourceError) in
                try await local.read(path, maxBytes: maxBytes, booking: booking)
            }
            return FetchedImage(bytes: bytes)
        }
    }

    static func sourceError(_ error: S3Error, reference: String) -> SourceError {
        switch error {
        case .notFound: .notFound(reference)
        case .tooLarge(let limit): .tooLarge(reference, limit: limit)
        case .timeout: .timeout(reference)
        case .accessDenied, .unreachable, .unexpected: .unreachable("\(reference) could not be read: \(error)")
        }
    }
}
