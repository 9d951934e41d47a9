import CalotypeCore
import CalotypeImageURL
import Foundation
import HTTPTypes
import Hummingbird
import NIOPosix
import Scheduler

extension HTTPField.Name {
    static let vary = Self("Vary")!
}

extension CalotypeServer {
    /// `GET /img/{signature}/{options}/{source}`: imgproxy's URL format over
    /// Calotype's engine, for CDNs and browsers.
    func addImageRoutes(to router: Router<CalotypeRequestContext>) {
        // A client that goes away stops its work: nobody would read the answer.
        router.group()
            .add(middleware: EndpointStatisticsMiddleware(statistics: statistics, answer: .image))
            // A signed URL needs no key: its signature is the credential.
            .add(middleware: APIKeyAuthenticator(access: access, required: false))
            .add(middleware: CancelOnDepartureMiddleware(departures: departures))
            .get("img/**") { request, context -> Response in
                try await serveImage(request, tenant: context.identity)
            }
    }

    /// Checks the signature, reads the options, fetches the source, answers
    /// 304 when the client has these bytes already, and otherwise runs the
    /// recipe through the scheduler like `POST /process`.
    private func serveImage(_ request: Request, tenant: Tenant?) async throws(APIError) -> Response {
        let settings = configuration.imageURLs
        let url = try Self.imageURL(request.uri.path)
        try Self.checkSignature(url, settings: settings, tenant: tenant)
        let options: ImgproxyOptions
        do {
            options = try ImgproxyOptions(url.options, presets: settings.presets, extensionFormat: url.extensionFormat)
        } catch {
            throw APIError(.badRequest, .invalidRecipe, error.description)
        }
        // An expired URL is gone, as imgproxy answers it (before any fetch).
        if let expires = options.delivery.expires, expires <= Int(Date().timeIntervalSince1970) {
            throw APIError(.notFound, .notFound, "this image URL expired at \(expires) (its exp option)")
        }
        // The whole recipe before anything is fetched: `auto` and the
        // centred crop are resolved against the decoded image in the
        // pipeline, so a bad recipe never costs a fetch.
        var recipe = try recipe(for: options)
        let explicitFormat = options.format != nil

        let (source, hold) = try await fetchSource(url.source)
        defer { hold.release() }
        // Handed on as it is: `raw`, or a format `skip_processing` names
        // (when the URL asks for no other format).
        let sourceFormat = SourceFormat.sniff(source.bytes)
        if options.delivery.raw || (sourceFormat.map { options.delivery.skipProcessing.contains($0.fileExtension) } == true && !explicitFormat) {
            return Self.sourceAsItIs(source, named: url.source, format: sourceFormat, options: options, cacheMaxAge: settings.cacheMaxAge)
        }
        // A format the URL names wins; else the Accept header chooses (among
        // the formats that animate, for an animation: AVIF would keep its
        // first frame), and the answer varies with it.
        let animated = (ImageSize.sniff(source.bytes)?.frames ?? 1) > 1 && scheduler.configuration.inputLimits.keepsAnimations
        let negotiated =
            explicitFormat
            ? nil
            : ContentNegotiation.format(
                accept: request.headers[.accept],
                preferred: settings.negotiatedFormats.filter { !animated || $0.animates }
            )
        // The tag hashes the source (SHA-256: 0.5 ms of CPU for a 0.6 MB
        // photo, 30 ms at the 64 MiB limit). A revalidation needs it before
        // anything else; any other request has it made on NIO's pool while
        // its image is processed, and waits the less for it.
        let bytes = source.bytes
        // The options as their recipe's canonical JSON: two spellings of one
        // picture (`w:100` and `width:100`) share their tag.
        let canonical = recipe.json + (options.delivery.cacheBuster.map { "|cb:\($0)" } ?? "")
        async let hashedTag = Self.entityTag(bytes, recipe: canonical, format: negotiated)
        func headers(_ tag: String) -> HTTPFields {
            var headers: HTTPFields = [.eTag: tag, .cacheControl: Self.cacheControl(options, maxAge: settings.cacheMaxAge)]
            if let lastModified = source.lastModified { headers[.lastModified] = lastModified }
            if !explicitFormat { headers[.vary] = "Accept" }
            return headers
        }
        if let ifNoneMatch = request.headers[.ifNoneMatch] {
            let tag = try Self.madeTag(await hashedTag)
            if ContentNegotiation.matches(ifNoneMatch: ifNoneMatch, tag: tag) {
                return Response(status: .notModified, headers: headers(tag))
            }
        }

        let input = ImageInput(bytes: source.bytes, name: url.source)
        if let negotiated { recipe.output.format = negotiated }
        // A signed URL without a key runs as the open server's one tenant.
        let job = JobRequest(
            input: input,
            recipe: recipe,
            placement: .auto,
            strictPlacement: false,
            priority: .interactive,
            tenant: (tenant ?? .open).jobTenant
        )
        let result: JobResult
        do {
            result = try await scheduler.submit(job)
        } catch {
            throw APIError(error)
        }
        var answer = headers(try Self.madeTag(await hashedTag))
        if let disposition = Self.contentDisposition(options, source: url.source, fileExtension: result.image.format.fileExtension) {
            answer[.contentDisposition] = disposition
        }
        return Self.imageResponse(result, headers: answer, budget: scheduler.memoryBudget)
    }

    /// `Cache-Control`: public for the configured time, or until the URL
    /// expires if that is sooner.
    private static func cacheControl(_ options: ImgproxyOptions, maxAge: Int) -> String {
        guard let expires = options.delivery.expires else { return "public, max-age=\(maxAge)" }
        let left = max(0, expires - Int(Date().timeIntervalSince1970))
        return "public, max-age=\(min(maxAge, left))"
    }

    /// `Content-Disposition` when the URL names a file (`fn`) or asks for
    /// an attachment (`att`): the name, or the source's last path segment,
    /// with the answer's extension. Names are letters, digits and a few
    /// marks (`ImgproxyOptions` checks `fn`; a source's name is reduced to
    /// them), so the header needs no escaping.
    static func contentDisposition(_ options: ImgproxyOptions, source: String, fileExtension: String) -> String? {
        let delivery = options.delivery
        guard delivery.filename != nil || delivery.attachment else { return nil }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        let last = source.split(separator: "/").last.map(String.init) ?? ""
        let stem = last.split(separator: ".").first.map { String($0.filter(allowed.contains).prefix(100)) } ?? ""
        let name = delivery.filename ?? (stem.isEmpty ? "image" : stem)
        return "\(delivery.attachment ? "attachment" : "inline"); filename=\"\(name).\(fileExtension)\""
    }

    /// The source's bytes as the answer (`raw`, `skip_processing`), typed
    /// by their magic numbers and never sniffed by the browser.
    private static func sourceAsItIs(
        _ source: FetchedImage,
        named sourceName: String,
        format: SourceFormat?,
        options: ImgproxyOptions,
        cacheMaxAge: Int
    ) -> Response {
        var headers: HTTPFields = [
            .contentType: format?.mediaType ?? "application/octet-stream",
            .cacheControl: cacheControl(options, maxAge: cacheMaxAge),
            .xContentTypeOptions: "nosniff",
        ]
        if let lastModified = source.lastModified { headers[.lastModified] = lastModified }
        if let disposition = contentDisposition(options, source: sourceName, fileExtension: format?.fileExtension ?? "bin") {
            headers[.contentDisposition] = disposition
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: source.bytes)))
    }

    /// The answer's entity tag, hashed on a pool of its own (blocking work
    /// on a source of up to 64 MB); nil once the server is shutting down.
    private static func entityTag(_ bytes: [UInt8], recipe: String, format: OutputFormat?) async -> String? {
        try? await BlockingPools.hashing.runIfActive {
            ContentNegotiation.entityTag(source: bytes, recipe: recipe, format: format)
        }
    }

    private static func madeTag(_ tag: String?) throws(APIError) -> String {
        guard let tag else { throw APIError(.serviceUnavailable, .shuttingDown, "the server is shutting down") }
        return tag
    }

    private static func imageURL(_ path: String) throws(APIError) -> ImageURL {
        let prefix = "/img/"
        guard path.hasPrefix(prefix) else { throw APIError(.notFound, .notFound, "no endpoint at \(path)") }
        do {
            return try ImageURL(path: String(path.dropFirst(prefix.count)))
        } catch {
            throw APIError(.badRequest, .invalidSource, error.description)
        }
    }

    /// A signature made with one of the keys, or an unsigned URL where the
    /// operator allows them; anything else is 403 before the source is touched.
    /// An unsigned URL, where they are allowed, needs the `process` scope
    /// (`tenant` is nil when no key came, and `Tenant.open` on an open server).
    private static func checkSignature(_ url: ImageURL, settings: ImageURLConfiguration, tenant: Tenant?) throws(APIError) {
        if ImageURLConfiguration.unsignedMarkers.contains(url.signature) {
            guard settings.allowUnsigned else {
                throw APIError(
                    .forbidden,
                    .invalidSignature,
                    "unsigned image URLs are not served here (CALOTYPE_ALLOW_UNSIGNED is false); sign it with `calotype sign`"
                )
            }
            guard let tenant else { throw AccessRefusal.missingKey }
            guard tenant.permissions.contains(.process) else { throw AccessRefusal.lacking(.process) }
            return
        }
        guard let keys = settings.signingKeys, !keys.pairs.isEmpty else {
            throw APIError(.forbidden, .invalidSignature, "this server has no signing key (CALOTYPE_SIGNING_KEY), so no signature is valid")
        }
        guard keys.verify(url.signature, path: url.signedPath) else {
            throw APIError(.forbidden, .invalidSignature, "the signature does not match the path")
        }
    }

    /// The source's bytes, and their share of the memory budget, held until
    /// the answer is made. They are booked while they arrive (the declared
    /// length at once, or in steps as they come), each step waiting for
    /// room as an upload does: a second, then 503 `overloaded`.
    private func fetchSource(_ reference: String) async throws(APIError) -> (FetchedImage, MemoryBudget.Hold) {
        guard let sources = configuration.sources else {
            throw APIError(SourceError.notAllowed("this server fetches no images by reference (CALOTYPE_ALLOWED_SOURCES is empty)"))
        }
        let maxBytes = configuration.maxImageBytes ?? ImageLimits().maxBytes
        let deadline = ContinuousClock.now + sources.timeout
        let booking = BudgetBooking(budget: scheduler.memoryBudget, source: reference, wait: Upload.budgetWait, until: deadline)
        defer { booking.release() }
        let fetched: FetchedImage
        do {
            fetched = try await sources.fetch(reference, maxBytes: maxBytes, booking: booking, until: deadline)
        } catch {
            throw APIError(error)
        }
        return (fetched, booking.held(fetched.bytes.capacity))
    }

    /// The recipe of `options`, within the server's operation limit.
    private func recipe(for options: ImgproxyOptions) throws(APIError) -> Recipe {
        do {
            let recipe = try options.recipe()
            try Recipe.checkOperationCount(recipe.operations.count, limit: configuration.maxOperations)
            return recipe
        } catch {
            throw APIError(error)
        }
    }
}
