import CalotypeCore

/// `GET /openapi.json`: the API described in OpenAPI 3.1. Kept beside the
/// routes and checked by a test that every documented operation is served;
/// both recipe spellings' schemas are written from the operations'
/// declarations (`RecipeSchema`), and CI runs schemathesis against it.
enum OpenAPIDocument {
    /// The document for a server that takes recipes of at most `maxOperations` operations.
    static func json(maxOperations: Int) -> String {
        template
            .replacingOccurrences(of: "\"$RECIPE_JSON_SCHEMA\"", with: RecipeSchema.json(maxOperations: maxOperations).text)
            .replacingOccurrences(of: "\"$RECIPE_SHORTHAND_SCHEMA\"", with: RecipeSchema.shorthand().text)
            .replacingOccurrences(of: "\"$BOOLEAN_OPTION\"", with: RecipeSchema.shorthandBoolean.merging(["default": false]).text)
            .replacingOccurrences(of: "\"$ERROR_CODE\"", with: enumeration(APIErrorCode.allCases.map(\.rawValue)))
            .replacingOccurrences(of: "\"$EVENT_NAME\"", with: enumeration(APIBatchEvent.Name.allCases.map(\.rawValue)))
    }

    /// A string schema of these values, from the vocabulary's enums.
    private static func enumeration(_ values: [String]) -> String {
        #"{"type": "string", "enum": ["# + values.map { "\"\($0)\"" }.joined(separator: ", ") + "]}"
    }

    /// `Assets/openapi.json`, with a placeholder for each generated schema.
    private static var template: String { Assets.openAPITemplate }
}
