import Foundation

/// The flat spelling of a recipe used in query strings and CLI flags:
/// `width=800&height=600&fit=cover&blur=2&rotate=90&format=webp`.
///
/// Each operation appears at most once, and they apply in `OperationKind`
/// order (crop, resize, rotate, flip, blur, sharpen, adjust, grayscale). An
/// operation whose parameters all have defaults is switched on by its name
/// (`grayscale=true`, `adjust=true`).
extension Recipe {
    /// Reads a query string (`a=1&b=2`, percent-encoded, `+` for space).
    public init(shorthand query: String, ignoring reservedKeys: Set<String> = []) throws(RecipeError) {
        try self.init(shorthandFields: Self.shorthandFields(fromQuery: query), ignoring: reservedKeys)
    }

    /// Reads already-split fields. Keys in `reservedKeys` belong to the caller
    /// (the HTTP layer's `backend`, say) and are skipped; any other unknown key
    /// is an error, since it is most likely a typo.
    public init(shorthandFields pairs: [(key: String, value: String)], ignoring reservedKeys: Set<String> = []) throws(RecipeError) {
        var fields: [String: String] = [:]
        for (key, value) in pairs where !reservedKeys.contains(key) {
            guard fields.updateValue(value, forKey: key) == nil else {
                throw RecipeError(field: key, reason: .malformed("given more than once"))
            }
        }
        try Self.rejectUnknownShorthandKeys(fields)

        let reader = ParameterReader(source: .shorthand(fields))
        var operations: [Operation] = []
        for kind in OperationKind.allCases {
            let keys = kind.type.parameters.map(\.shorthandKey)
            let switchedOn: Bool
            if let flag = fields[kind.rawValue], !keys.contains(kind.rawValue) {
                guard let on = Bool(shorthand: flag) else {
                    throw RecipeError(field: kind.rawValue, reason: .wrongType(expected: "true or false", got: "'\(flag)'"))
                }
                switchedOn = on
            } else {
                switchedOn = keys.contains { fields[$0] != nil }
            }
            if switchedOn {
                operations.append(try kind.type.init(reading: reader).asOperation)
            }
        }
        self.init(
            operations,
            output: try OutputOptions(reading: reader),
            autorotate: try reader.value(Self.autorotateParameter),
            failOn: try reader.optional(Self.failOnParameter)
        )
    }

    /// Every key the shorthand understands.
    public static var shorthandKeys: Set<String> {
        var keys = Set(parameters.map(\.shorthandKey))
        for kind in OperationKind.allCases {
            keys.insert(kind.rawValue)
            keys.formUnion(kind.type.parameters.map(\.shorthandKey))
        }
        return keys
    }

    private static func rejectUnknownShorthandKeys(_ fields: [String: String]) throws(RecipeError) {
        let known = shorthandKeys
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw RecipeError(field: unknown, reason: .unknownKey(known: known.sorted()))
        }
    }

    /// The recipe in the flat shorthand, which `init(shorthand:)` reads back
    /// to an equal recipe. Fails when the operations are out of the
    /// shorthand's order or repeated.
    public func shorthand() throws(RecipeError) -> String {
        var pairs: [(String, String)] = []
        var previous: OperationKind?
        for operation in operations {
            if let previous, operation.kind <= previous {
                throw RecipeError(
                    field: Self.operationsKey,
                    reason: .notExpressibleAsShorthand(
                        "\(operation.kind.rawValue) after \(previous.rawValue); the shorthand applies operations once each, in the order \(OperationKind.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                )
            }
            previous = operation.kind
            var writer = ParameterWriter()
            operation.value.write(to: &writer)
            if writer.entries.isEmpty {
                pairs.append((operation.kind.rawValue, "true"))
            }
            pairs += writer.entries.map { ($0.shorthandKey, $0.value.shorthand) }
        }
        var writer = ParameterWriter()
        writer.write(Self.autorotateParameter, autorotate)
        writer.write(Self.failOnParameter, failOn)
        output.write(to: &writer)
        pairs += writer.entries.map { ($0.shorthandKey, $0.value.shorthand) }
        return pairs.map { "\(Self.escape($0))=\(Self.escape($1))" }.joined(separator: "&")
    }

    // MARK: Query strings

    /// Splits a query string into decoded fields, in order.
    public static func shorthandFields(fromQuery query: String) -> [(key: String, value: String)] {
        let trimmed = query.hasPrefix("?") ? String(query.dropFirst()) : query
        return trimmed.split(separator: "&", omittingEmptySubsequences: true).map { field in
            let parts = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = unescape(parts[0])
            let value = parts.count > 1 ? unescape(parts[1]) : ""
            return (key, value)
        }
    }

    private static func unescape(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    private static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
