/// JSON Schemas of both recipe spellings, written from the declarations of
/// the operations and their parameters, so that the API document cannot
/// drift from what the parser accepts: the JSON recipe (the multipart field
/// `recipe`) and the flat shorthand (the query string).
public enum RecipeSchema {
    /// The JSON recipe of at most `maxOperations` operations.
    public static func json(maxOperations: Int) -> JSONValue {
        var properties: [String: JSONValue] = [
            Recipe.operationsKey: [
                "type": "array", "maxItems": .number(Double(maxOperations)),
                "items": ["oneOf": .array(OperationKind.allCases.map(operationSchema))],
            ]
        ]
        for parameter in Recipe.parameters { properties[parameter.key] = described(parameter, key: \.key) }
        return ["type": "object", "additionalProperties": false, "properties": .object(properties)]
    }

    /// The shorthand as a query object: one property per shorthand key, and
    /// an operation's required keys wherever one of its keys appears (that
    /// key switches the operation on), as `dependentRequired`.
    ///
    /// Only plain requirements are written. "Width, height or a scale" (an
    /// operation's `requiresAnyOf`) would be a `dependentSchemas` entry with
    /// an `anyOf` for each of its keys; with resize's and extend's together,
    /// schemathesis' canonicaliser gave up on the whole document (each such
    /// entry doubles or triples the alternatives it expands). Those are
    /// refused by the server as 400 `invalid_recipe`, naming the key.
    public static func shorthand() -> JSONValue {
        var properties: [String: JSONValue] = [:]
        var dependents: [String: JSONValue] = [:]
        for parameter in Recipe.parameters { properties[parameter.shorthandKey] = described(parameter, key: \.shorthandKey) }
        for kind in OperationKind.allCases {
            let type = kind.type
            var keys = type.parameters.map(\.shorthandKey)
            for parameter in type.parameters { properties[parameter.shorthandKey] = described(parameter, key: \.shorthandKey) }
            if !keys.contains(kind.rawValue) {
                properties[kind.rawValue] = shorthandBoolean.merging(["description": .string("Switches \(kind.rawValue) on (\(type.summary))")])
                keys.append(kind.rawValue)
            }
            guard case .array(let required)? = constraints(of: type, key: \.shorthandKey)["required"], type.requiresAnyOf.isEmpty else { continue }
            for key in keys {
                // A key that is itself all that is required needs nothing more.
                let others = required.filter { $0 != .string(key) }
                if !others.isEmpty { dependents[key] = .array(others) }
            }
        }
        var schema: [String: JSONValue] = ["type": "object", "additionalProperties": false, "properties": .object(properties)]
        if !dependents.isEmpty { schema["dependentRequired"] = .object(dependents) }
        return .object(schema)
    }

    private static func operationSchema(_ kind: OperationKind) -> JSONValue {
        let type = kind.type
        var properties: [String: JSONValue] = ["op": ["const": .string(kind.rawValue)]]
        for parameter in type.parameters { properties[parameter.key] = described(parameter, key: \.key) }
        var schema: [String: JSONValue] = [
            "type": "object", "additionalProperties": false, "properties": .object(properties), "description": .string(type.summary),
        ]
        let constraint = constraints(of: type, key: \.key)
        let required =
            (constraint["required"].flatMap { value -> [JSONValue]? in
                if case .array(let keys) = value { return keys }
                return nil
            } ?? [])
        schema["required"] = .array(["op"] + required)
        if let anyOf = constraint["anyOf"] { schema["anyOf"] = anyOf }
        return .object(schema)
    }

    /// `required` (parameters without a default outside every group) and
    /// `anyOf` (the groups), spelled with `key`.
    private static func constraints(of type: any PipelineOperation.Type, key: KeyPath<ParameterInfo, String>) -> [String: JSONValue] {
        let grouped = Set(type.requiresAnyOf.joined())
        var constraint: [String: JSONValue] = [:]
        let required = type.parameters.filter { $0.defaultValue == nil && !$0.isOptional && !grouped.contains($0.key) }.map {
            JSONValue.string($0[keyPath: key])
        }
        if !required.isEmpty { constraint["required"] = .array(required) }
        if !type.requiresAnyOf.isEmpty {
            let spelled = { (name: String) in type.parameters.first { $0.key == name }.map { $0[keyPath: key] } ?? name }
            constraint["anyOf"] = .array(type.requiresAnyOf.map { group in ["required": .array(group.map { .string(spelled($0)) })] })
        }
        return constraint
    }

    private static func described(_ parameter: ParameterInfo, key: KeyPath<ParameterInfo, String>) -> JSONValue {
        // The shorthand reads booleans as true/false, 1/0 or yes/no.
        let schema = key == \ParameterInfo.shorthandKey && parameter.schema == Bool.jsonSchema ? shorthandBoolean : parameter.schema
        var annotations: [String: JSONValue] = ["description": .string(parameter.summary)]
        // In the JSON recipe's schema, the parameter's key in the shorthand
        // where it differs (an annotation: the console writes the query from it).
        if key == \ParameterInfo.key, parameter.shorthandKey != parameter.key {
            annotations["x-shorthand"] = .string(parameter.shorthandKey)
        }
        return schema.merging(annotations)
    }

    /// A boolean as the shorthand (and the query options) read it.
    public static let shorthandBoolean: JSONValue = [
        "anyOf": [["type": "boolean"], ["type": "integer", "enum": [0, 1]], ["type": "string", "enum": ["true", "false", "1", "0", "yes", "no"]]]
    ]
}
