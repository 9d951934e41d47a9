import CalotypeCore
import CalotypeImageURL

/// How `GET /img/{signature}/{options}/{source}` behaves: who may sign its
/// URLs, the named presets, how long caches keep its answers and which
/// formats an `Accept` header may choose.
public struct ImageURLConfiguration: Sendable {
    /// The key and salt pairs a signature may be made with
    /// (`CALOTYPE_SIGNING_KEY`, `CALOTYPE_SIGNING_SALT`); nil: none.
    public var signingKeys: URLSigningKeys?
    /// Whether unsigned paths (`insecure` or `_` as the signature) are
    /// served (`CALOTYPE_ALLOW_UNSIGNED`, default false). With neither keys
    /// nor this, `/img` serves nothing.
    public var allowUnsigned = false
    /// Named option strings for `preset:name` (`CALOTYPE_PRESETS`), as imgproxy's.
    public var presets: [String: String] = [:]
    /// `Cache-Control: public, max-age=` of every image answered
    /// (`CALOTYPE_IMG_MAX_AGE` seconds, default 3600). The ETag lets a cache
    /// revalidate after it for the cost of a fetch, without processing.
    public var cacheMaxAge = 3600
    /// Formats an `Accept` header may choose when the URL names none, in the
    /// order preferred (`CALOTYPE_IMG_NEGOTIATE`, default avif,jxl,webp;
    /// none: always the source's format), as imgproxy prefers them. The
    /// composition root drops those the backend cannot write.
    public var negotiatedFormats: [OutputFormat] = negotiableFormats
    /// The formats worth choosing by `Accept`: smaller than the source's
    /// JPEG or PNG, and listed only by browsers that decode them.
    public static let negotiableFormats: [OutputFormat] = [.avif, .jxl, .webp]

    public init() {}

    /// What the signature segment says: signed, or unsigned on purpose.
    static let unsignedMarkers: Set<String> = ["insecure", "_"]
}
