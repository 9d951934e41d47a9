/// Why a recipe was refused, naming the field the caller wrote.
///
/// Recipes are checked before any pixel is touched; this error is how a caller
/// (an HTTP client, a CLI user) learns exactly which field to fix.
public struct RecipeError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Reason: Hashable, Sendable {
        /// The value has the right type but is not allowed.
        case outOfRange(allowed: String, got: String)
        /// The value is not of the parameter's type.
        case wrongType(expected: String, got: String)
        /// A required value is absent; the text says what is required.
        case missing(String)
        /// The key is not a parameter of this operation (a typo, usually).
        case unknownKey(known: [String])
        /// `op` names no operation.
        case unknownOperation(known: [String])
        /// The document is not well-formed (not JSON, not an object, ...).
        case malformed(String)
        /// The recipe is valid but the flat shorthand cannot spell it
        /// (operations out of the shorthand's fixed order, or repeated).
        case notExpressibleAsShorthand(String)
    }

    /// The field as the caller wrote it: `width`, `ops[1].sigma`, `recipe`.
    public var field: String
    public var reason: Reason

    public init(field: String, reason: Reason) {
        self.field = field
        self.reason = reason
    }

    /// The same error, located under `prefix` (`ops[2]` + `sigma` = `ops[2].sigma`).
    func located(under prefix: String) -> RecipeError {
        RecipeError(field: field.isEmpty ? prefix : "\(prefix).\(field)", reason: reason)
    }

    public var description: String {
        switch reason {
        case .outOfRange(let allowed, let got):
            return "\(field) must be \(allowed), got \(got)"
        case .wrongType(let expected, let got):
            return "\(field) must be \(expected), got \(got)"
        case .missing(let requirement):
            return "\(field): \(requirement)"
        case .unknownKey(let known):
            return "\(field) is not a known parameter (known: \(known.joined(separator: ", ")))"
        case .unknownOperation(let known):
            return "\(field) is not a known operation (known: \(known.joined(separator: ", ")))"
        case .malformed(let detail):
            return "\(field) is malformed: \(detail)"
        case .notExpressibleAsShorthand(let detail):
            return "\(field) cannot be written as shorthand: \(detail)"
        }
    }
}
