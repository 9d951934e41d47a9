import Hummingbird

/// Runs `router` as a real HTTP server on a free loopback port for the
/// length of `body`, which is given the port (an origin for sources, a
/// receiver for saves).
public func withLoopbackServer<Context: RequestContext>(
    _ router: Router<Context>,
    _ body: @escaping @Sendable (Int) async throws -> Void
) async throws where Context.Source == ApplicationRequestContextSource {
    let ports = AsyncStream.makeStream(of: Int.self)
    let app = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { ports.continuation.yield($0.localAddress?.port ?? 0) }
    )
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.runService() }
        var port = 0
        for await bound in ports.stream {
            port = bound
            break
        }
        try await body(port)
        group.cancelAll()
    }
}
