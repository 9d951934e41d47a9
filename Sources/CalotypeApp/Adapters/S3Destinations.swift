import CalotypeCore
import CalotypeS3
import CalotypeSources
import Server

/// The destinations a batch by reference may write to: S3 prefixes an
/// operator listed (`CALOTYPE_ALLOWED_DESTINATIONS`), each result PUT with
/// the same deterministic keys as `/process-and-save` into S3.
///
/// A destination is read as a source is (`SourceReference`), so one whose
/// key could be read two ways (`thumbs/../other/`, `thumbs/..%2fother/`,
/// `thumbs//`, a newline) is refused before anything is written, and so
/// is a query (`?acl=public-read`), which is never silently dropped.
struct S3Destinations: ResultDestinations {
    let allowList: SourceAllowList
    let client: S3Client

    func sink(for destination: String) throws(DestinationRefusal) -> any ResultSink {
        let reference: SourceReference
        do {
            reference = try SourceReference(destination)
        } catch {
            guard case .invalidReference(let text, let why) = error else { throw DestinationRefusal("\(error)") }
            throw DestinationRefusal("'\(text)' is not a usable destination: \(why)")
        }
        guard case .s3(let bucket, let key) = reference else {
            throw DestinationRefusal("'\(reference)' is not a destination: give s3://bucket/prefix/")
        }
        let prefix = key.isEmpty || key.hasSuffix("/") ? key : key + "/"
        // The folder itself must be allowed, so that `s3://out/thumbs` is
        // allowed by `s3://out/thumbs/` and never by `s3://out/thumbs-other/`.
        guard allowList.permits(.s3(bucket: bucket, key: prefix)) else {
            throw DestinationRefusal("\(destination) is not under an allowed destination (CALOTYPE_ALLOWED_DESTINATIONS)")
        }
        return S3ResultSink(client: client, bucket: bucket, prefix: prefix)
    }
}
