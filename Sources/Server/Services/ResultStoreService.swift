import ServiceLifecycle

/// The result store's part in a shutdown: results are written to disk in
/// the background, so once no request or batch can add one, it finishes
/// those writes, leaving no half-written file and no task behind.
struct ResultStoreService: Service {
    let store: ResultStore

    func run() async throws {
        try? await gracefulShutdown()
        await store.settle()
    }
}
