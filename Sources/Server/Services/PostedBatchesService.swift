import ServiceLifecycle

/// The batches posted to `/batches` in a shutdown: they run on their own,
/// not as requests, so the HTTP server stopping does not end them. Once it
/// has stopped, the ones still running may finish, for up to the grace
/// period; what is left then is cancelled (each item reported `cancelled`).
struct PostedBatchesService: Service {
    let registry: BatchRegistry
    let grace: Duration

    func run() async throws {
        try? await gracefulShutdown()
        await registry.drain(within: grace)
    }
}
