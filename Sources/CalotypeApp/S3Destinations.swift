import CalotypeCore
import CalotypeS3
import CalotypeSources
import Server

/// The destinations a batch by reference may write to: S3 prefixes an
/// operator listed (`CALOTYPE_ALLOWED_DESTINATIONS`), each result PUT with
/// the same deterministic keys as `/process-and-save` into S3.
struct S3Destinations: ResultDestinations {
    let allowList: SourceAllowList
    let client: S3Client

    func sink(for destination: String) throws(DestinationRefusal) -> any ResultSink {
        guard case .s3(let bucket, let key) = try? SourceReference(destination) else {
            throw DestinationRefusal("'\(destination)' is not a destination: give s3://bucket/prefix/")
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
