/// A value that a recipe parameter can hold: it knows how to appear in JSON
/// (through `Codable`) and in the flat shorthand (as a string).
public protocol ParameterValue: Codable, Hashable, Sendable {
    /// Parses the shorthand spelling; `nil` when the text is not a value of this type.
    init?(shorthand: String)
    /// The shorthand spelling, which `init(shorthand:)` reads back.
    var shorthand: String { get }
    /// The type's name as the documentation shows it.
    static var typeName: String { get }
    /// Whether the value is written as text whose allowed spellings the
    /// parameter lists (enumerations, colours): a wrong spelling is then
    /// reported with that list rather than as a wrong type.
    static var isSpelledAsText: Bool { get }
    /// The type's values as a JSON Schema, for the API document.
    static var jsonSchema: JSONValue { get }
}

extension ParameterValue {
    public static var isSpelledAsText: Bool { false }
    public static var jsonSchema: JSONValue { ["type": .string(typeName)] }

    /// "an integer", "a number".
    static var typeNameWithArticle: String {
        let vowels: Set<Character> = ["a", "e", "i", "o", "u"]
        return (typeName.first.map(vowels.contains) == true ? "an " : "a ") + typeName
    }
}

/// One parameter of a pipeline operation (or of the recipe itself), declared
/// once: its key, what it means, its default and the values it allows.
///
/// The JSON decoder, the shorthand parser, validation and the generated
/// documentation all read this one declaration, so they cannot disagree.
public struct Parameter<Value: ParameterValue>: Sendable {
    /// The key in JSON (and in the shorthand unless `shorthandKey` differs).
    public let key: String
    /// The key in the flat shorthand, where one operation's parameter stands
    /// for the whole operation (`blur=2` is `{"op":"blur","sigma":2}`).
    public let shorthandKey: String
    public let summary: String
    /// The value used when the parameter is absent; `nil` makes it required
    /// (or optional, for parameters read with `optional`).
    public let defaultValue: Value?
    /// Human-readable allowed values, as error messages and docs show them.
    public let allowedDescription: String
    private let isAllowed: @Sendable (Value) -> Bool
    /// The allowed values as a JSON Schema (the type's, narrowed by a range).
    public let schema: JSONValue

    public init(
        _ key: String,
        shorthandKey: String? = nil,
        summary: String,
        default defaultValue: Value? = nil,
        allowedDescription: String,
        schema: JSONValue = Value.jsonSchema,
        isAllowed: @escaping @Sendable (Value) -> Bool
    ) {
        self.key = key
        self.shorthandKey = shorthandKey ?? key
        self.summary = summary
        self.defaultValue = defaultValue
        self.allowedDescription = allowedDescription
        self.schema = schema
        self.isAllowed = isAllowed
    }

    /// Returns `value` when it is allowed, or the error that names this parameter.
    public func validated(_ value: Value) throws(RecipeError) -> Value {
        guard isAllowed(value) else {
            throw RecipeError(field: key, reason: .outOfRange(allowed: allowedDescription, got: value.shorthand))
        }
        return value
    }

    /// The type-erased description used by documentation.
    public var info: ParameterInfo {
        ParameterInfo(
            key: key,
            shorthandKey: shorthandKey,
            type: Value.typeName,
            summary: summary,
            defaultValue: defaultValue?.shorthand,
            allowed: allowedDescription,
            schema: schema
        )
    }
}

extension Parameter where Value: Comparable {
    /// A parameter whose values must lie in `range`.
    public init(
        _ key: String,
        shorthandKey: String? = nil,
        summary: String,
        default defaultValue: Value? = nil,
        range: ClosedRange<Value>
    ) {
        // Numbers' shorthand spellings are their JSON spellings.
        let bounds: [String: JSONValue] = [
            "minimum": Double(range.lowerBound.shorthand).map(JSONValue.number) ?? .null,
            "maximum": Double(range.upperBound.shorthand).map(JSONValue.number) ?? .null,
        ]
        self.init(
            key,
            shorthandKey: shorthandKey,
            summary: summary,
            default: defaultValue,
            allowedDescription: "\(range.lowerBound.shorthand)...\(range.upperBound.shorthand)",
            schema: Value.jsonSchema.merging(bounds),
            isAllowed: { range.contains($0) }
        )
    }
}

extension Parameter where Value: CaseIterable & RawRepresentable, Value.RawValue == String {
    /// A parameter that takes one of an enumeration's cases.
    public init(_ key: String, shorthandKey: String? = nil, summary: String, default defaultValue: Value? = nil) {
        self.init(
            key,
            shorthandKey: shorthandKey,
            summary: summary,
            default: defaultValue,
            allowedDescription: "one of " + Value.allCases.map(\.rawValue).joined(separator: ", "),
            isAllowed: { _ in true }
        )
    }
}

extension Parameter where Value == Bool {
    /// A boolean switch.
    public init(_ key: String, shorthandKey: String? = nil, summary: String, default defaultValue: Bool) {
        self.init(
            key,
            shorthandKey: shorthandKey,
            summary: summary,
            default: defaultValue,
            allowedDescription: "true or false",
            isAllowed: { _ in true }
        )
    }
}

/// What documentation needs to know of a parameter, whatever its type.
public struct ParameterInfo: Sendable, Hashable, Encodable {
    public let key: String
    public let shorthandKey: String
    public let type: String
    public let summary: String
    /// The default in shorthand spelling; `nil` when the parameter has none.
    public let defaultValue: String?
    public let allowed: String
    /// The allowed values as a JSON Schema.
    public let schema: JSONValue
    /// Held in an optional property: absent, it is nil (not required,
    /// though it has no default).
    public var isOptional = false
}

// MARK: - Value types

extension Int: ParameterValue {
    public init?(shorthand: String) { self.init(shorthand) }
    public var shorthand: String { String(self) }
    public static var typeName: String { "integer" }
}

extension Double: ParameterValue {
    public init?(shorthand: String) {
        guard let value = Double(shorthand), value.isFinite else { return nil }
        self = value
    }
    /// The shortest spelling that reads back as the same number (`2`, not `2.0`).
    public var shorthand: String {
        if self == rounded(), abs(self) < 1e15 { return String(Int(self)) }
        return String(self)
    }
    public static var typeName: String { "number" }
}

extension Bool: ParameterValue {
    public init?(shorthand: String) {
        switch shorthand.lowercased() {
        case "true", "1", "yes": self = true
        case "false", "0", "no": self = false
        default: return nil
        }
    }
    public var shorthand: String { self ? "true" : "false" }
    public static var typeName: String { "boolean" }
}

/// Enumerations spelled by their raw string, in JSON and in the shorthand.
public protocol StringEnumParameter: ParameterValue, CaseIterable, RawRepresentable where RawValue == String {}

extension StringEnumParameter {
    public init?(shorthand: String) { self.init(rawValue: shorthand.lowercased()) }
    public var shorthand: String { rawValue }
    public static var typeName: String { "string" }
    public static var isSpelledAsText: Bool { true }
    public static var jsonSchema: JSONValue { ["type": "string", "enum": .array(allCases.map { .string($0.rawValue) })] }

    /// JSON accepts the same spellings as the shorthand (`jpg`, `center`).
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(shorthand: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not one of \(Self.allCases.map(\.rawValue))"))
        }
        self = value
    }
}
