/// Reads an operation's parameters from whichever spelling the recipe came in:
/// a JSON object or the flat shorthand. Operations read through it so that one
/// initialiser serves both.
public struct ParameterReader {
    enum Source {
        case json(KeyedDecodingContainer<DynamicCodingKey>)
        case shorthand([String: String])
    }

    let source: Source

    /// The value of `parameter`, or its default; a parameter with neither is
    /// reported missing.
    public func value<V>(_ parameter: Parameter<V>) throws(RecipeError) -> V {
        if let value = try optional(parameter) { return value }
        throw RecipeError(field: fieldName(parameter), reason: .missing("is required (\(parameter.allowedDescription))"))
    }

    /// The value of `parameter`, its default, or `nil` when it has none.
    public func optional<V>(_ parameter: Parameter<V>) throws(RecipeError) -> V? {
        guard let raw = try rawValue(parameter) else { return parameter.defaultValue }
        do {
            return try parameter.validated(raw)
        } catch {
            throw RecipeError(field: fieldName(parameter), reason: error.reason)
        }
    }

    /// Whether the caller wrote `parameter` at all (as opposed to taking its default).
    public func contains<V>(_ parameter: Parameter<V>) -> Bool {
        switch source {
        case .json(let container): container.contains(DynamicCodingKey(parameter.key))
        case .shorthand(let fields): fields[parameter.shorthandKey] != nil
        }
    }

    private func fieldName<V>(_ parameter: Parameter<V>) -> String {
        switch source {
        case .json: parameter.key
        case .shorthand: parameter.shorthandKey
        }
    }

    private func rawValue<V>(_ parameter: Parameter<V>) throws(RecipeError) -> V? {
        switch source {
        case .json(let container):
            let key = DynamicCodingKey(parameter.key)
            guard container.contains(key) else { return nil }
            do {
                if try container.decodeNil(forKey: key) { return nil }
                return try container.decode(V.self, forKey: key)
            } catch {
                let isText = (try? container.decode(String.self, forKey: key)) != nil
                throw refusal(parameter, field: parameter.key, got: describeJSON(container, key), gotText: isText)
            }
        case .shorthand(let fields):
            guard let text = fields[parameter.shorthandKey] else { return nil }
            guard let value = V(shorthand: text) else {
                throw refusal(parameter, field: parameter.shorthandKey, got: "'\(text)'", gotText: true)
            }
            return value
        }
    }

    /// A value that did not parse: for text-spelled types given text, the
    /// allowed spellings; otherwise the expected type.
    private func refusal<V>(_ parameter: Parameter<V>, field: String, got: String, gotText: Bool) -> RecipeError {
        if V.isSpelledAsText && gotText {
            return RecipeError(field: field, reason: .outOfRange(allowed: parameter.allowedDescription, got: got))
        }
        return RecipeError(field: field, reason: .wrongType(expected: V.typeNameWithArticle, got: got))
    }

    private func describeJSON(_ container: KeyedDecodingContainer<DynamicCodingKey>, _ key: DynamicCodingKey) -> String {
        if let text = try? container.decode(String.self, forKey: key) { return "'\(text)'" }
        if let number = try? container.decode(Double.self, forKey: key) { return number.shorthand }
        if let flag = try? container.decode(Bool.self, forKey: key) { return flag.shorthand }
        return "a value of another type"
    }
}

/// Collects the parameters an operation writes, for either spelling.
///
/// Values equal to their parameter's default are left out, so a recipe
/// written back reads as tersely as a person would write it.
public struct ParameterWriter {
    struct Entry {
        let key: String
        let shorthandKey: String
        let value: any ParameterValue
    }

    private(set) var entries: [Entry] = []

    public mutating func write<V>(_ parameter: Parameter<V>, _ value: V?, evenIfDefault: Bool = false) {
        guard let value, evenIfDefault || value != parameter.defaultValue else { return }
        entries.append(Entry(key: parameter.key, shorthandKey: parameter.shorthandKey, value: value))
    }
}

/// A coding key made at run time, for objects whose keys come from declarations.
public struct DynamicCodingKey: CodingKey, Hashable {
    public let stringValue: String
    public var intValue: Int? { nil }
    public init(_ string: String) { stringValue = string }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { return nil }
}
