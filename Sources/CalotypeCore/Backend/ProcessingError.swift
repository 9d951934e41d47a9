/// Why a job failed, typed so that callers can act on it: an HTTP layer maps
/// `code` to a status, the scheduler reads `blame` to decide whether another
/// backend could succeed.
public struct ProcessingError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable, Codable, CaseIterable {
        /// Not an image, or a format that is not allowed (PDF, SVG, matrix, ...).
        case unsupportedFormat = "unsupported_format"
        /// Over the pixel or byte limit; refused before decoding.
        case tooLarge = "too_large"
        /// The data claims to be an image but is damaged or truncated.
        case corrupt
        /// The recipe itself is invalid.
        case invalidRecipe = "invalid_recipe"
        /// The recipe is valid but does not fit this image (a crop that
        /// misses it, say).
        case invalidForImage = "invalid_for_image"
        /// The backend does not run this recipe; another backend may.
        case unsupportedByBackend = "unsupported_by_backend"
        /// The device or library failed; another backend may succeed.
        case backendFault = "backend_fault"
        /// The job was cancelled (its caller went away, or its deadline
        /// passed) and stopped; nothing is wrong with the input or the backend.
        case cancelled
        /// A bug or an unexpected state in Calotype.
        case `internal`
    }

    /// Whose fault a failure is: retrying an input fault elsewhere is futile,
    /// and a cancelled job is not retried at all.
    public enum Blame: String, Sendable, Hashable, Codable {
        case input, backend, caller
    }

    public var code: Code
    /// A sentence for people, naming what is wrong.
    public var message: String
    /// The library's own words, where they help (libvips' error buffer).
    public var detail: String?

    public init(_ code: Code, _ message: String, detail: String? = nil) {
        self.code = code
        self.message = message
        self.detail = detail
    }

    public init(_ recipeError: RecipeError) {
        self.init(.invalidRecipe, recipeError.description)
    }

    public var blame: Blame {
        switch code {
        case .unsupportedFormat, .tooLarge, .corrupt, .invalidRecipe, .invalidForImage: .input
        case .unsupportedByBackend, .backendFault, .internal: .backend
        case .cancelled: .caller
        }
    }

    public var description: String {
        guard let detail, !detail.isEmpty else { return "\(code.rawValue): \(message)" }
        return "\(code.rawValue): \(message) (\(detail))"
    }
}
