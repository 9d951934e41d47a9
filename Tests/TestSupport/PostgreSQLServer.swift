import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real PostgreSQL for the tests: Debian's `postgresql` (which
/// `scripts/install-system-packages.sh` installs), a cluster made with
/// `initdb` in a temporary folder and its server started on a free
/// loopback port, once per test process, as the `postgres` user when the
/// tests run as root (PostgreSQL refuses to run as root). Trust
/// authentication on loopback only; stopped when the process exits.
public final class PostgreSQLServer: Sendable {
    /// The superuser the cluster is made with.
    public static let user = "calotype"

    public let port: Int
    private let folder: URL
    private let binaries: URL

    /// The process's server, started on first use.
    public static func shared() async throws -> PostgreSQLServer {
        try await offThePool { try started.get() }
    }

    private static let started: Result<PostgreSQLServer, any Error> = Result {
        let server = try PostgreSQLServer()
        atexit { PostgreSQLServer.stopShared() }
        return server
    }

    /// `postgres://calotype@127.0.0.1:PORT/DATABASE`.
    public func url(database: String) -> String {
        "postgres://\(Self.user)@127.0.0.1:\(port)/\(database)"
    }

    /// A new, empty database of its own, for one test; returns its URL.
    public func newDatabase() async throws -> String {
        let name = "calotype_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16))"
        let createdb = binaries.appendingPathComponent("createdb")
        let port = self.port
        try await offThePool {
            try Self.run(createdb, ["-h", "127.0.0.1", "-p", String(port), "-U", Self.user, name], asPostgres: false)
        }
        return url(database: name)
    }

    /// At exit: an immediate shutdown (SIGQUIT to the postmaster), which
    /// releases its shared memory, without waiting for it.
    private static func stopShared() {
        guard case .success(let server) = started else { return }
        let pidFile = server.folder.appendingPathComponent("data/postmaster.pid")
        if let text = try? String(contentsOf: pidFile, encoding: .utf8), let pid = text.split(separator: "\n").first.flatMap({ Int32($0) }) {
            kill(pid, SIGQUIT)
        }
    }

    private init() throws {
        guard let binaries = Self.binaries() else { throw PostgreSQLServerError.notInstalled }
        self.binaries = binaries
        let folder = URL(fileURLWithPath: "/tmp").appendingPathComponent("calotype-postgres-\(UUID().uuidString)")
        self.folder = folder
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let asPostgres = getuid() == 0
        if asPostgres {
            try Self.run(URL(fileURLWithPath: "/bin/chown"), ["postgres", folder.path], asPostgres: false)
        }
        let data = folder.appendingPathComponent("data").path
        try Self.run(
            binaries.appendingPathComponent("initdb"),
            ["-D", data, "-U", Self.user, "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"],
            asPostgres: asPostgres
        )
        port = try SeaweedFS.freePorts(1)[0]
        try startServer()
    }

    /// Starts the server on `port` over the cluster in `folder` and waits
    /// until it answers.
    private func startServer() throws {
        let asPostgres = getuid() == 0
        let data = folder.appendingPathComponent("data").path
        // The server runs as a child of its own, not daemonised by `pg_ctl`:
        // a daemon inherits Foundation's descriptor that reports a child's
        // exit, and `pg_ctl` would then never be seen to end.
        let server = Self.process(
            binaries.appendingPathComponent("postgres"),
            [
                "-D", data, "-p", String(port), "-k", folder.path, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                "-c", "max_connections=200",
            ],
            asPostgres: asPostgres
        )
        let logFile = folder.appendingPathComponent("postgres.log")
        if !FileManager.default.fileExists(atPath: logFile.path) {
            guard FileManager.default.createFile(atPath: logFile.path, contents: nil) else {
                throw PostgreSQLServerError.failed("cannot write \(logFile.path)")
            }
        }
        let log = try FileHandle(forWritingTo: logFile)
        log.seekToEndOfFile()
        server.standardOutput = log
        server.standardError = log
        try server.run()
        // Ready when pg_isready says so: up to a minute.
        let ready = binaries.appendingPathComponent("pg_isready")
        for _ in 0..<600 {
            guard server.isRunning else { break }
            if (try? Self.run(ready, ["-q", "-h", "127.0.0.1", "-p", String(port)], asPostgres: false)) != nil { return }
            usleep(100_000)
        }
        server.terminate()
        let tail = (try? String(contentsOf: logFile, encoding: .utf8))?.suffix(2000) ?? ""
        throw PostgreSQLServerError.failed("PostgreSQL did not start: \(tail)")
    }

    /// A server of its own, for a test that stops or restarts it (the
    /// shared one serves every other test); `stop()` it at the end.
    public static func dedicated() async throws -> PostgreSQLServer {
        try await offThePool { try PostgreSQLServer() }
    }

    /// The postmaster's process id, from its pid file.
    private var postmaster: Int32? {
        let pidFile = folder.appendingPathComponent("data/postmaster.pid")
        return (try? String(contentsOf: pidFile, encoding: .utf8))?.split(separator: "\n").first.flatMap { Int32($0) }
    }

    /// Stops the server (a fast shutdown: connections are closed, as in a
    /// database failover) and waits until it is gone.
    public func stop() async throws {
        guard let pid = postmaster else { return }
        kill(pid, SIGINT)
        try await offThePool {
            var waited = 0
            while kill(pid, 0) == 0, waited < 600 {
                usleep(50_000)
                waited += 1
            }
        }
    }

    /// Stops the server and starts it again on the same port and data.
    public func restart() async throws {
        try await stop()
        try await offThePool { try self.startServer() }
    }

    /// Debian keeps the server's programs in /usr/lib/postgresql/VERSION/bin
    /// (off the PATH); the newest there, else `CALOTYPE_PG_BIN`, else the PATH.
    static func binaries() -> URL? {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["CALOTYPE_PG_BIN"] { return URL(fileURLWithPath: explicit) }
        let debian = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: debian.path)) ?? []).compactMap(Int.init).sorted()
        if let newest = versions.last {
            return debian.appendingPathComponent("\(newest)/bin")
        }
        for folder in (environment["PATH"] ?? "").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(folder))
            if FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("initdb").path) { return candidate }
        }
        return nil
    }

    /// `program` with `arguments`, as the `postgres` user when asked (the
    /// server refuses to run as root).
    static func process(_ program: URL, _ arguments: [String], asPostgres: Bool) -> Process {
        let process = Process()
        if asPostgres {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", "postgres", "--", program.path] + arguments
        } else {
            process.executableURL = program
            process.arguments = arguments
        }
        return process
    }

    /// Runs a program to its end; a failure carries its output.
    static func run(_ program: URL, _ arguments: [String], asPostgres: Bool) throws {
        let process = Self.process(program, arguments, asPostgres: asPostgres)
        // Into a file, not a pipe: a program that leaves a server running
        // hands it the pipe's end, and reading the pipe to its end would
        // wait as long as that server lives.
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-pg-\(UUID().uuidString).log")
        guard FileManager.default.createFile(atPath: outputFile.path, contents: nil) else {
            throw PostgreSQLServerError.failed("cannot write \(outputFile.path)")
        }
        defer { try? FileManager.default.removeItem(at: outputFile) }
        let output = try FileHandle(forWritingTo: outputFile)
        defer { try? output.close() }
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        let text = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else {
            throw PostgreSQLServerError.failed("\(program.lastPathComponent) \(arguments.joined(separator: " ")): \(text.suffix(2000))")
        }
    }
}

public enum PostgreSQLServerError: Error, CustomStringConvertible {
    case notInstalled
    case failed(String)

    public var description: String {
        switch self {
        case .notInstalled: "PostgreSQL is not installed (scripts/install-system-packages.sh installs Debian's postgresql)"
        case .failed(let why): why
        }
    }
}
