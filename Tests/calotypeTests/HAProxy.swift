import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// haproxy (Debian's) in front of some nodes on loopback, as an operator
/// runs it: HTTP mode, least connections, health checks on `/health`.
/// haproxy passes event streams through as they come (it buffers no
/// response), so its long client and server timeouts are all a stream needs.
struct HAProxy: Sendable {
    let process: Process
    let port: Int

    static func start(in folder: URL, backends: [Int]) async throws -> HAProxy {
        let port = try SeaweedFS.freePorts(1)[0]
        var config = """
            defaults
              mode http
              timeout connect 5s
              timeout client 1h
              timeout server 1h
            frontend calotype
              bind 127.0.0.1:\(port)
              default_backend nodes
            backend nodes
              balance leastconn
              option httpchk GET /health

            """
        for (index, backend) in backends.enumerated() {
            config += "  server node-\(index) 127.0.0.1:\(backend) check inter 500ms\n"
        }
        let file = folder.appendingPathComponent("haproxy-\(port).cfg")
        try Data(config.utf8).write(to: file)
        let process = Process()
        let installed = ["/usr/sbin/haproxy", "/usr/bin/haproxy"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let path = try #require(installed, "haproxy is not installed (scripts/install-system-packages.sh)")
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-f", file.path, "-db"]
        let log = folder.appendingPathComponent("haproxy-\(port).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let proxy = HAProxy(process: process, port: port)
        let front = NodeProcess(name: "haproxy", process: process, port: port)
        // Ready when a node answers through it.
        while (try? await front.get("/health"))?.status != 200 {
            try #require(process.isRunning, "haproxy exited: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            try await Task.sleep(for: .milliseconds(50))
        }
        return proxy
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
    }
}
