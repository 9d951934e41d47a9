import Server

extension CalotypeServer {
    /// A server in front of `engine`.
    public init(engine: Engine, configuration: ServerConfiguration) {
        var configuration = configuration
        if configuration.maxImageBytes == nil { configuration.maxImageBytes = engine.configuration.limits.maxBytes }
        self.init(
            scheduler: engine.scheduler, configuration: configuration,
            selfChecks: Dictionary(uniqueKeysWithValues: engine.gpus.map { ($0.name, $0.selfCheck.description) }),
            telemetry: engine.telemetry)
    }
}
