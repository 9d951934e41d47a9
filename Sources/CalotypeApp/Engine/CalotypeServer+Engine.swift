import CalotypeCore
import CalotypeLibvips
import Server

extension CalotypeServer {
    /// A server in front of `engine`.
    public init(engine: Engine, configuration: ServerConfiguration) {
        var configuration = configuration
        if configuration.maxImageBytes == nil { configuration.maxImageBytes = engine.configuration.limits.maxBytes }
        // Offer only what libvips here can write (AVIF needs libheif with an AV1 encoder).
        configuration.imageURLs.negotiatedFormats.removeAll { !engine.cpu.writableFormats.contains($0) }
        configuration.writableFormats = OutputFormat.encoded.filter(engine.cpu.writableFormats.contains)
        self.init(
            scheduler: engine.scheduler,
            configuration: configuration,
            selfChecks: Dictionary(uniqueKeysWithValues: engine.gpus.map { ($0.name, $0.selfCheck.description) }),
            telemetry: engine.telemetry
        )
    }
}
