import NIOPosix

/// Threads of their own for the server's blocking work, apart from NIO's
/// shared blocking pool (2 threads on a 2-core machine) that parses
/// uploads: a slow disk writing results, or a large source being hashed
/// for its ETag, must not hold up the parsing of other requests' bodies.
///
/// Each pool is started on first use and lives as long as the process
/// (like `NIOThreadPool.singleton`); an idle thread costs nothing.
enum BlockingPools {
    /// Result and save files (`CALOTYPE_RESULTS_DIR`, `CALOTYPE_SAVE_DIR`).
    static let files = started(threads: 2)
    /// `GET /img`'s entity tags: a SHA-256 of the source and the options.
    static let hashing = started(threads: 2)

    private static func started(threads: Int) -> NIOThreadPool {
        let pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        return pool
    }
}
