import CalotypeCore
import CalotypeLibvips
import Server

extension CalotypeServer {
    /// A server in front of `engine`.
    public init(engine: Engine, configuration: ServerConfiguration) {
        var configuration = configuration
        if configuration.maxImageBytes == nil { configuration.maxImageBytes = engine.configuration.limits.maxBytes }
        if configuration.imageProbe == nil { configuration.imageProbe = LibvipsImageProbe(backend: engine.cpu) }
        // Offer only what libvips here can write (AVIF needs libheif with an AV1 encoder).
        configuration.imageURLs.negotiatedFormats.removeAll { !engine.cpu.writableFormats.contains($0) }
        self.init(
            scheduler: engine.scheduler, configuration: configuration,
            selfChecks: Dictionary(uniqueKeysWithValues: engine.gpus.map { ($0.name, $0.selfCheck.description) }),
            telemetry: engine.telemetry)
    }
}

/// `GET /img`'s header reads, by libvips.
struct LibvipsImageProbe: ImageProbe {
    let backend: LibvipsBackend

    func size(of input: ImageInput) async throws(ProcessingError) -> ImageSize {
        try await backend.displaySize(of: input)
    }
}
