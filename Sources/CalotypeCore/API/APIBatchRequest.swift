import Foundation

/// A batch by reference, the JSON body `POST /batches` and the batch
/// endpoints take instead of uploads: the images are named, not sent, and
/// each is fetched when a worker is free for it.
///
/// `{"sources": ["s3://in/a.jpg", "https://images.example.com/b.png"],
///   "recipe": {...} | "options": "width=800&format=webp",
///   "destination": "s3://out/thumbs/"}`
public struct APIBatchRequest: Codable, Sendable {
    /// Where each image is: `http(s)://`, `s3://bucket/key`, `local:///path`.
    public var sources: [String]
    /// The recipe as JSON; or `options`, in the shorthand; neither: the default recipe.
    public var recipe: Recipe?
    public var options: String?
    /// Where each result is written (`s3://bucket/prefix/`), besides its `url`.
    public var destination: String?

    /// The most sources one batch may name.
    public static let maxSources = 10_000

    public init(sources: [String], recipe: Recipe? = nil, options: String? = nil, destination: String? = nil) {
        self.sources = sources
        self.recipe = recipe
        self.options = options
        self.destination = destination
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case sources, recipe, options, destination
    }

    /// Refuses keys it does not know: a misspelt `destinaton` must not
    /// quietly drop the results' destination.
    public init(from decoder: any Decoder) throws {
        let known = try decoder.container(keyedBy: DynamicCodingKey.self)
        if let unknown = known.allKeys.first(where: { CodingKeys(stringValue: $0.stringValue) == nil }) {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: [unknown],
                    debugDescription:
                        "unknown key '\(unknown.stringValue)'; a batch by reference has \(CodingKeys.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            )
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sources = try container.decode([String].self, forKey: .sources)
        recipe = try container.decodeIfPresent(Recipe.self, forKey: .recipe)
        options = try container.decodeIfPresent(String.self, forKey: .options)
        destination = try container.decodeIfPresent(String.self, forKey: .destination)
    }
}
