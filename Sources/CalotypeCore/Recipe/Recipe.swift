import Foundation

/// What to do to one image: an ordered list of operations and how to encode
/// the result. A `Recipe` that exists is valid: every initialiser checks every
/// field, so backends never see a bad parameter.
///
/// Two spellings read into the same value:
/// - JSON: `{"ops":[{"op":"resize","width":800}],"format":"webp","quality":80}`
/// - the flat shorthand of query strings: `width=800&format=webp&quality=80`
public struct Recipe: Hashable, Sendable {
    public static let autorotateParameter = Parameter<Bool>(
        "autorotate",
        summary: "Apply the EXIF orientation before the operations.",
        default: true
    )

    public static let failOnParameter = Parameter<DamagedInput>(
        "fail_on",
        summary:
            "How damaged an input may be: refuse it on a decoder `warning` (damaged data), an `error`, a `truncated` file, or serve it anyway (`none`). Absent: the server's `CALOTYPE_FAIL_ON` (warning)."
    )

    /// Recipe-level parameters (besides `ops`), for the docs.
    public static let parameters = [autorotateParameter.info, failOnParameter.info] + OutputOptions.parameters

    public var operations: [Operation]
    public var output: OutputOptions
    public var autorotate: Bool
    /// How damaged an input may be; nil leaves it to the backend's limits.
    public var failOn: DamagedInput?

    public init(
        _ operations: [Operation] = [],
        output: OutputOptions = OutputOptions.default,
        autorotate: Bool = true,
        failOn: DamagedInput? = nil
    ) {
        self.operations = operations
        self.output = output
        self.autorotate = autorotate
        self.failOn = failOn
    }

    /// Operations a recipe may have unless its reader says otherwise. Each one
    /// is a stage of libvips' lazy graph, whose teardown recurses once per
    /// stage: a recipe of 4,000 flips (or 1,000 blurs) overflowed a worker
    /// thread's stack and killed the server. 16 is more than any real recipe
    /// needs (imgproxy and thumbor chains are a handful of steps).
    public static let defaultMaxOperations = 16
    /// The most an operator may allow (`CALOTYPE_MAX_OPERATIONS`): far below
    /// the depth that overflowed the stack.
    public static let operationsCeiling = 64
    /// Largest JSON recipe read, in bytes: checked before parsing, so that a
    /// huge `recipe` field costs nothing (64 operations fit in a few KiB).
    public static let maxJSONBytes = 64 << 10

    /// Throws unless `count` operations are within `limit`.
    public static func checkOperationCount(_ count: Int, limit: Int) throws(RecipeError) {
        guard count <= limit else {
            throw RecipeError(field: operationsKey, reason: .outOfRange(allowed: "at most \(limit) operations", got: "\(count)"))
        }
    }

    /// The operation kinds this recipe uses, for a backend's `supports` check.
    public var operationKinds: Set<OperationKind> { Set(operations.map(\.kind)) }
}

extension OutputOptions {
    /// Original format, quality 80, metadata stripped.
    public static let `default` = OutputOptions(format: .original, quality: 80, strip: true, unchecked: ())

    private init(format: OutputFormat, quality: Int, strip: Bool, unchecked: Void) {
        self.format = format
        self.quality = quality
        self.strip = strip
    }
}

// MARK: - JSON

extension Recipe: Codable {
    static let operationsKey = "ops"
    private static let topLevelKeys = [operationsKey] + parameters.map(\.key)
    /// Where `init(json:maxOperations:)` tells the decoder its limit.
    private static let maxOperationsKey = CodingUserInfoKey(rawValue: "calotype.maxOperations")!

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: DynamicCodingKey.self)
        try Self.rejectUnknownKeys(in: container, known: Self.topLevelKeys, field: "")
        let reader = ParameterReader(source: .json(container))
        autorotate = try reader.value(Self.autorotateParameter)
        failOn = try reader.optional(Self.failOnParameter)
        output = try OutputOptions(reading: reader)

        var operations: [Operation] = []
        let opsKey = DynamicCodingKey(Self.operationsKey)
        if container.contains(opsKey) {
            var list: UnkeyedDecodingContainer
            do {
                list = try container.nestedUnkeyedContainer(forKey: opsKey)
            } catch {
                throw RecipeError(field: Self.operationsKey, reason: .wrongType(expected: "a list of operations", got: "another type"))
            }
            let limit = decoder.userInfo[Self.maxOperationsKey] as? Int ?? Self.defaultMaxOperations
            if let count = list.count {
                try Self.checkOperationCount(count, limit: limit)
            }
            while !list.isAtEnd {
                try Self.checkOperationCount(operations.count + 1, limit: limit)
                let field = "\(Self.operationsKey)[\(operations.count)]"
                let object: KeyedDecodingContainer<DynamicCodingKey>
                do {
                    object = try list.nestedContainer(keyedBy: DynamicCodingKey.self)
                } catch {
                    throw RecipeError(field: field, reason: .wrongType(expected: "an object with an \"op\"", got: "another type"))
                }
                do {
                    operations.append(try Self.decodeOperation(object))
                } catch {
                    throw error.located(under: field)
                }
            }
        }
        self.operations = operations
    }

    private static func decodeOperation(_ object: KeyedDecodingContainer<DynamicCodingKey>) throws(RecipeError) -> Operation {
        let knownNames = OperationKind.allCases.map(\.rawValue)
        guard let name = try? object.decode(String.self, forKey: DynamicCodingKey("op")) else {
            throw RecipeError(field: "op", reason: .missing("every operation needs \"op\", one of \(knownNames.joined(separator: ", "))"))
        }
        guard let kind = OperationKind(rawValue: name) else {
            throw RecipeError(field: "op", reason: .unknownOperation(known: knownNames))
        }
        try rejectUnknownKeys(in: object, known: ["op"] + kind.type.parameters.map(\.key), field: "")
        return try kind.type.init(reading: ParameterReader(source: .json(object))).asOperation
    }

    private static func rejectUnknownKeys(
        in container: KeyedDecodingContainer<DynamicCodingKey>,
        known: [String],
        field: String
    ) throws(RecipeError) {
        if let unknown = container.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            throw RecipeError(field: unknown, reason: .unknownKey(known: known))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: DynamicCodingKey.self)
        var operationsContainer = container.nestedUnkeyedContainer(forKey: DynamicCodingKey(Self.operationsKey))
        for operation in operations {
            var writer = ParameterWriter()
            operation.value.write(to: &writer)
            var object = operationsContainer.nestedContainer(keyedBy: DynamicCodingKey.self)
            try object.encode(operation.kind.rawValue, forKey: DynamicCodingKey("op"))
            for entry in writer.entries {
                try object.encode(entry.value, forKey: DynamicCodingKey(entry.key))
            }
        }
        var writer = ParameterWriter()
        writer.write(Self.autorotateParameter, autorotate)
        writer.write(Self.failOnParameter, failOn)
        output.write(to: &writer)
        for entry in writer.entries {
            try container.encode(entry.value, forKey: DynamicCodingKey(entry.key))
        }
    }

    /// A decoder whose recipes, wherever they are in the document, have at
    /// most `maxOperations` operations (a batch request's `recipe`).
    public static func jsonDecoder(maxOperations: Int) -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.userInfo[maxOperationsKey] = maxOperations
        return decoder
    }

    /// Reads a JSON recipe of at most `maxOperations` operations, turning
    /// every failure into a `RecipeError`. Sizes are checked before parsing.
    public init(json: some DataProtocol, maxOperations: Int = Recipe.defaultMaxOperations) throws(RecipeError) {
        guard json.count <= Self.maxJSONBytes else {
            throw RecipeError(field: "recipe", reason: .outOfRange(allowed: "at most \(Self.maxJSONBytes) bytes of JSON", got: "\(json.count) bytes"))
        }
        do {
            self = try Self.jsonDecoder(maxOperations: maxOperations).decode(Recipe.self, from: Data(json))
        } catch let error as RecipeError {
            throw error
        } catch {
            throw RecipeError(field: "recipe", reason: .malformed("not a JSON object (\(Self.describe(error)))"))
        }
    }

    /// The recipe as compact JSON with sorted keys.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain values into a keyed container cannot fail.
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    private static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            return context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription
        }
        return "\(error)"
    }
}
