import CalotypeCore
import Foundation
import Hummingbird
import NIOPosix
import Scheduler

/// One image of a batch: its bytes, or where it is.
public enum BatchInput: Sendable {
    /// Bytes that came in the body.
    case uploaded(ImageInput)
    /// A source named in a batch by reference, fetched when a worker is
    /// free for it (never all up front).
    case source(String)

    /// The file name or the source, for the item's `filename`.
    public var name: String? {
        switch self {
        case .uploaded(let input): input.name
        case .source(let reference): reference
        }
    }
}

/// What a processing request carries: the images (or where they are), the
/// recipe and how to run it.
struct Upload: Sendable {
    typealias Item = BatchInput

    var items: [Item]
    var recipe: Recipe
    var placement: Placement
    var strictPlacement: Bool
    /// `?inline=true`: batch answers carry each result's bytes as base64.
    var inline: Bool
    /// The body's share of the memory budget, given back when the last copy
    /// of this upload is dropped (the request answered, the batch ended).
    var hold: MemoryBudget.Hold?
    /// Who fetches `source` items, and the most bytes each may have.
    var fetcher: (any SourceFetcher)?
    var maxSourceBytes = ImageLimits().maxBytes
    /// A batch by reference's `destination`: where each result is written.
    var destination: (any ResultSink)?
    /// That destination as the request named it (a cluster hands the name
    /// to the node that runs each item).
    var destinationName: String?

    /// The uploaded images (a single-image request's one).
    var files: [ImageInput] {
        items.compactMap { item in
            if case .uploaded(let input) = item { input } else { nil }
        }
    }

    enum Shape {
        /// One part named `file`, or (when allowed) a raw `image/*` body.
        case single(allowRawBody: Bool)
        /// Parts named `files` or `files[]`; a single `file` is accepted too.
        case batch
        /// Either of the above.
        case singleOrBatch
    }

    /// Query keys that are not recipe fields.
    static let reservedKeys: Set<String> = ["backend", "strict", "inline"]

    /// Room in a single-image body for the multipart envelope and a recipe (64 KiB at most).
    static let envelopeAllowance = 128 << 10

    /// How long a request waits for room in the memory budget before 503.
    static let budgetWait: Duration = .seconds(1)

    static func read(
        _ request: Request,
        shape: Shape,
        configuration: ServerConfiguration,
        budget: MemoryBudget = .unlimited
    ) async throws(APIError) -> Upload {
        let query = request.uri.queryParameters.map { (key: String($0.key), value: String($0.value)) }
        var options = [String: String]()
        for (key, value) in query where reservedKeys.contains(key) { options[key] = value }

        // One image's body needs no more than the image limit and a multipart envelope.
        let bodyLimit: Int
        if case .single = shape, let imageBytes = configuration.maxImageBytes {
            bodyLimit = min(configuration.maxBodyBytes, imageBytes + envelopeAllowance)
        } else {
            bodyLimit = configuration.maxBodyBytes
        }
        let (body, hold) = try await collectBody(request, limit: bodyLimit, budget: budget)

        let contentType = request.headers[.contentType] ?? ""
        if Self.isJSON(contentType) {
            switch shape {
            case .batch, .singleOrBatch:
                return try await readReferences(body, query: query, options: options, configuration: configuration, hold: hold)
            case .single:
                break  // refused below, as any other type
            }
        }
        // The images are read where they arrived (parts, or a raw body's
        // bytes): the body's hold is all they cost.
        var files: [ImageInput] = []
        var recipeJSON: [UInt8]?
        if let boundary = Multipart.boundary(of: contentType) {
            let parts = try await parseMultipart(body, boundary: boundary, maxParts: configuration.maxParts)
            let accepted: Set<String> =
                switch shape {
                case .single: ["file"]
                case .batch, .singleOrBatch: ["file", "files", "files[]"]
                }
            for part in parts {
                if part.name == "recipe" && part.filename == nil {
                    recipeJSON = Array(part.body)
                } else if let name = part.name, accepted.contains(name) {
                    // A text field where a file belongs (`-F files=<x` instead of `-F files=@x`)
                    // is a mistake to report, not bytes to try as an image.
                    guard let filename = part.filename else {
                        throw APIError(
                            .badRequest,
                            .notAFile,
                            "the part '\(name)' is a form field, not a file (no filename): send it as a file, e.g. curl -F \(name)=@photo.jpg"
                        )
                    }
                    files.append(ImageInput(bytes: part.body, name: filename))
                }
            }
        } else if case .single(allowRawBody: true) = shape, contentType.lowercased().hasPrefix("image/") {
            files.append(ImageInput(bytes: body.encodedBytes, name: "upload"))
        } else {
            let expected =
                switch shape {
                case .single(allowRawBody: true): "multipart/form-data with a part named 'file', or an image/* body"
                case .single: "multipart/form-data"
                case .batch, .singleOrBatch: "multipart/form-data, or application/json naming sources"
                }
            throw APIError(.unsupportedMediaType, .unsupportedMediaType, "expected \(expected), got '\(contentType)'")
        }

        switch shape {
        case .single where files.count > 1:
            throw APIError(.badRequest, .tooManyFiles, "this endpoint takes one image; use /process-batch for several")
        case _ where files.count > configuration.maxFilesPerBatch:
            throw APIError(.contentTooLarge, .tooManyFiles, "\(files.count) files; the limit is \(configuration.maxFilesPerBatch)")
        case _ where files.isEmpty:
            let names = if case .single = shape { "'file'" } else { "'files' (or 'files[]')" }
            throw APIError(.badRequest, .noFiles, "no image found: send multipart parts named \(names)")
        default:
            break
        }

        let recipe: Recipe
        do {
            if let recipeJSON {
                if query.contains(where: { !reservedKeys.contains($0.key) }) {
                    throw APIError(.badRequest, .invalidRecipe, "give the recipe either as query parameters or as the 'recipe' field, not both")
                }
                recipe = try Recipe(json: recipeJSON, maxOperations: configuration.maxOperations)
            } else {
                recipe = try Recipe(shorthandFields: query, ignoring: reservedKeys)
                try Recipe.checkOperationCount(recipe.operations.count, limit: configuration.maxOperations)
            }
        } catch let error as RecipeError {
            throw APIError(error)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.badRequest, .invalidRecipe, "\(error)")
        }

        return Upload(
            items: files.map(Item.uploaded),
            recipe: recipe,
            placement: try placement(options),
            strictPlacement: try flag("strict", options),
            inline: try flag("inline", options),
            hold: hold
        )
    }

    /// `backend=auto|cpu|gpu`.
    static func placement(_ options: [String: String]) throws(APIError) -> Placement {
        guard let backend = options["backend"] else { return .auto }
        guard let value = Placement(rawValue: backend.lowercased()) else {
            throw APIError(.badRequest, .invalidBackend, "backend must be one of auto, cpu, gpu, got '\(backend)'")
        }
        return value
    }

    /// The body, refused from `Content-Length` when it is over `limit` and
    /// admitted against the memory budget before a byte of it is read; the
    /// hold is the body's share of the budget.
    private static func collectBody(
        _ request: Request,
        limit: Int,
        budget: MemoryBudget
    ) async throws(APIError) -> (ByteBuffer, MemoryBudget.Hold) {
        let declared = request.headers[.contentLength].flatMap(Int.init)
        if let declared, declared < 0 {
            throw APIError(.badRequest, .malformedRequest, "Content-Length must be a number of bytes, got \(declared)")
        }
        if let declared, declared > limit {
            throw APIError(.contentTooLarge, .payloadTooLarge, "the body is \(declared) bytes; the limit is \(limit)")
        }
        guard let hold = await budget.admit(declared ?? limit, waitingAtMost: budgetWait) else {
            throw APIError.memoryBudgetFull()
        }
        // Into one buffer of the declared size: collecting fragment by
        // fragment doubles the buffer as it grows (an 8.3 MB photo ended
        // in 16 MiB, after copies at every doubling), memory the budget
        // did not count.
        var body = ByteBufferAllocator().buffer(capacity: declared ?? 0)
        do {
            try await request.body.collect(upTo: limit, into: &body)
        } catch {
            throw APIError(.contentTooLarge, .payloadTooLarge, "the body exceeds the limit of \(limit) bytes")
        }
        guard declared == nil else { return (body, hold) }
        // A chunked body was admitted at the size limit; hold what came.
        let actual = budget.commit(body.readableBytes)
        hold.release()
        return (body, actual)
    }

    /// A boolean query option (`strict`, `inline`): absent is false; a value
    /// that is not a boolean is an error, not silently false.
    static func flag(_ key: String, _ options: [String: String]) throws(APIError) -> Bool {
        guard let text = options[key] else { return false }
        guard let value = Bool(shorthand: text) else {
            throw APIError(.badRequest, .invalidOption, "\(key) must be true or false, got '\(text)'")
        }
        return value
    }

    /// Parses on a thread of its own (NIO's blocking pool), never on the
    /// cooperative pool or an event loop: a body of up to the size limit takes
    /// milliseconds to scan, and other requests must not wait behind it.
    private static func parseMultipart(_ body: ByteBuffer, boundary: String, maxParts: Int) async throws(APIError) -> [MultipartPart] {
        let outcome: Result<[MultipartPart], Multipart.Failure>
        do {
            outcome = try await NIOThreadPool.singleton.runIfActive {
                Result { () throws(Multipart.Failure) in try Multipart.parse(body, boundary: boundary, maxParts: maxParts) }
            }
        } catch {
            throw APIError(.serviceUnavailable, .shuttingDown, "the server is shutting down")
        }
        switch outcome {
        case .success(let parts):
            return parts
        case .failure(.tooManyParts(let limit)):
            throw APIError(
                .contentTooLarge,
                .tooManyParts,
                "the multipart body has more than \(limit) parts, the limit (CALOTYPE_MAX_FILES + \(ServerConfiguration.extraParts))"
            )
        case .failure(let error):
            throw APIError(.badRequest, .malformedMultipart, "the multipart body is malformed: \(error)")
        }
    }
}
