/// Why an image given by reference (a URL, an S3 key, a local path) cannot
/// be had. Each case is one of the API's codes, so a fetch that fails says
/// the same thing on `GET /img`, in a batch item and in the CLI.
public enum SourceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not a source URL Calotype takes (`invalid_source`, 400).
    case invalidReference(String, String)
    /// Not on the allow-list, or its address is refused (`source_not_allowed`, 403).
    case notAllowed(String)
    /// The origin has no such image (`source_not_found`, 404).
    case notFound(String)
    /// The origin took too long (`source_timeout`, 504).
    case timeout(String)
    /// The origin could not be reached or failed (`source_unreachable`, 502).
    case unreachable(String)
    /// Larger than the limit (`source_too_large`, 413).
    case tooLarge(String, limit: Int)
    /// No room in the server's memory budget or fetch slots came in time
    /// for its bytes (`overloaded`, 503): the server is busy, not the origin.
    case overloaded(String)

    /// The API's code for it.
    public var code: APIErrorCode {
        switch self {
        case .invalidReference: .invalidSource
        case .notAllowed: .sourceNotAllowed
        case .notFound: .sourceNotFound
        case .timeout: .sourceTimeout
        case .unreachable: .sourceUnreachable
        case .tooLarge: .sourceTooLarge
        case .overloaded: .overloaded
        }
    }

    public var description: String {
        switch self {
        case .invalidReference(let text, let why): "'\(text)' is not a usable source: \(why)"
        case .notAllowed(let why): why
        case .notFound(let source): "\(source) does not exist"
        case .timeout(let source): "\(source) did not answer in time"
        case .unreachable(let why): why
        case .tooLarge(let source, let limit): "\(source) is larger than \(limit) bytes"
        case .overloaded(let why): why
        }
    }
}
