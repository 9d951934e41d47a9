import CalotypeCore
import Foundation
import NIOCore
import NIOPosix
import Scheduler

extension Upload {
    /// `application/json`, with or without parameters.
    static func isJSON(_ contentType: String) -> Bool {
        contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() == "application/json"
    }

    /// A batch by reference: `{"sources": [...], "recipe" | "options", "destination"}`.
    /// Every source is checked (its form and the allow-list, no network)
    /// and the destination resolved before the batch is accepted, so that a
    /// batch of 10,000 with one source nobody allowed is refused whole, at
    /// once, rather than failing item by item.
    static func readReferences(
        _ body: ByteBuffer,
        query: [(key: String, value: String)],
        options: [String: String],
        configuration: ServerConfiguration,
        hold: MemoryBudget.Hold
    ) async throws(APIError) -> Upload {
        if let key = query.first(where: { !reservedKeys.contains($0.key) })?.key {
            throw APIError(
                .badRequest,
                .invalidRecipe,
                "'\(key)' in the query: a batch by reference gives its recipe in the body ('recipe' or 'options')"
            )
        }
        // Counted before it is parsed: 10,000 sources of a few hundred bytes
        // are a few megabytes, never the 100 MiB a body of uploads may be.
        guard body.readableBytes <= maxReferenceBody else {
            throw APIError(
                .contentTooLarge,
                .payloadTooLarge,
                "a batch by reference is at most \(maxReferenceBody) bytes of JSON; this one is \(body.readableBytes)"
            )
        }
        let request = try await decode(body, maxOperations: configuration.maxOperations)
        guard !request.sources.isEmpty else {
            throw APIError(.badRequest, .noFiles, "'sources' is empty: name at least one image")
        }
        guard request.sources.count <= APIBatchRequest.maxSources else {
            throw APIError(.contentTooLarge, .tooManyFiles, "\(request.sources.count) sources; the limit is \(APIBatchRequest.maxSources)")
        }
        guard let fetcher = configuration.sources else {
            throw APIError(SourceError.notAllowed("this server fetches no images by reference (CALOTYPE_ALLOWED_SOURCES is empty)"))
        }
        for (index, source) in request.sources.enumerated() {
            guard source.utf8.count <= maxSourceLength else {
                throw APIError(
                    .badRequest,
                    .invalidSource,
                    "sources[\(index)] is \(source.utf8.count) bytes long; a source is at most \(maxSourceLength)"
                )
            }
            do {
                try fetcher.check(source)
            } catch {
                var refusal = APIError(error)
                refusal.message = "sources[\(index)]: \(refusal.message)"
                throw refusal
            }
        }
        let recipe = try recipe(of: request, maxOperations: configuration.maxOperations)
        var destination: (any ResultSink)?
        if let name = request.destination {
            guard let destinations = configuration.destinations else {
                throw APIError(.forbidden, .destinationNotAllowed, "this server writes to no destination (CALOTYPE_ALLOWED_DESTINATIONS is empty)")
            }
            do {
                destination = try destinations.sink(for: name)
            } catch {
                throw APIError(.forbidden, .destinationNotAllowed, error.description)
            }
        }
        var upload = Upload(
            items: request.sources.map(Item.source),
            recipe: recipe,
            placement: try placement(options),
            strictPlacement: try flag("strict", options),
            inline: try flag("inline", options),
            hold: hold
        )
        upload.fetcher = fetcher
        upload.maxSourceBytes = configuration.maxImageBytes ?? ImageLimits().maxBytes
        upload.destination = destination
        upload.destinationName = request.destination
        return upload
    }

    /// The largest JSON body of a batch by reference (16 MiB).
    static let maxReferenceBody = 16 << 20
    /// The longest source URL (8 KiB, as most HTTP servers take).
    static let maxSourceLength = 8 << 10

    /// Parsed on NIO's blocking pool: a body of 10,000 URLs is a megabyte
    /// of JSON, not for the cooperative pool or an event loop.
    private static func decode(_ body: ByteBuffer, maxOperations: Int) async throws(APIError) -> APIBatchRequest {
        let outcome: Result<APIBatchRequest, APIError>
        do {
            outcome = try await NIOThreadPool.singleton.runIfActive {
                do {
                    let decoder = Recipe.jsonDecoder(maxOperations: maxOperations)
                    return .success(try decoder.decode(APIBatchRequest.self, from: Data(buffer: body)))
                } catch let error as RecipeError {
                    return .failure(APIError(error))
                } catch {
                    return .failure(APIError(.badRequest, .invalidBatch, "the body is not a batch by reference (\(describe(error)))"))
                }
            }
        } catch {
            throw APIError(.serviceUnavailable, .shuttingDown, "the server is shutting down")
        }
        return try outcome.get()
    }

    private static func recipe(of request: APIBatchRequest, maxOperations: Int) throws(APIError) -> Recipe {
        switch (request.recipe, request.options) {
        case (.some, .some):
            throw APIError(.badRequest, .invalidRecipe, "give either 'recipe' or 'options', not both")
        case (.some(let recipe), nil):
            return recipe
        case (nil, let options):
            do {
                let recipe = try Recipe(shorthand: options ?? "")
                try Recipe.checkOperationCount(recipe.operations.count, limit: maxOperations)
                return recipe
            } catch {
                throw APIError(error)
            }
        }
    }

    /// A decoding error as a sentence: what was wrong, and where.
    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            return context.debugDescription
        case DecodingError.keyNotFound(let key, _):
            return "'\(key.stringValue)' is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "'\(path)' has the wrong type: sources is a list of strings, options and destination strings, recipe an object"
        default:
            return "not JSON"
        }
    }
}
