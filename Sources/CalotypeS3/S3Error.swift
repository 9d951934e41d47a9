/// Why an S3 request did not give what was asked, typed so that callers
/// can answer precisely (a missing key is the source's 404, a refused
/// signature a configuration problem, a slow service a timeout).
public enum S3Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// No such key (or bucket): 404.
    case notFound(bucket: String, key: String)
    /// The service refused the credentials or the signature (403): its code
    /// (`SignatureDoesNotMatch`, `InvalidAccessKeyId`, `AccessDenied`) and message.
    case accessDenied(code: String, message: String)
    /// The object is larger than the caller's limit; nothing more was read.
    case tooLarge(limit: Int)
    /// The service did not answer within the time given.
    case timeout
    /// The service could not be reached (refused, reset, DNS).
    case unreachable(String)
    /// Any other answer: its status and S3 error code.
    case unexpected(status: Int, code: String, message: String)

    public var description: String {
        switch self {
        case .notFound(let bucket, let key): "s3://\(bucket)/\(key) does not exist"
        case .accessDenied(let code, let message): "S3 refused the request (\(code)): \(message)"
        case .tooLarge(let limit): "the object is larger than \(limit) bytes"
        case .timeout: "S3 did not answer in time"
        case .unreachable(let reason): "S3 could not be reached: \(reason)"
        case .unexpected(let status, let code, let message): "S3 answered \(status) \(code): \(message)"
        }
    }
}
