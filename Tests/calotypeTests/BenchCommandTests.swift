import CalotypeCore
import Foundation
import NIOPosix
import Testing

@testable import calotype

#if canImport(Glibc)
import Glibc
#endif

/// `calotype bench` as a user runs it: the binary on a small synthetic set,
/// real libvips, reports read back as the documented JSON.
@Suite("calotype bench", .timeLimit(.minutes(3)))
struct BenchCommandTests {
    /// The JSON report as plain dictionaries: the schema as documented, not the Swift type.
    func report(_ file: URL) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: file))
        return try #require(object as? [String: Any])
    }

    func modes(_ report: [String: Any]) throws -> [String: [String: Any]] {
        let list = try #require(report["modes"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: list.compactMap { mode in (mode["id"] as? String).map { ($0, mode) } })
    }

    func median(_ mode: [String: Any]?, _ key: String) -> Double {
        ((mode?[key] as? [String: Any])?["median"] as? Double) ?? -1
    }

    @Test func inProcessRunReportsEveryModeWithItsImagesAndWritesTheCharts() async throws {
        let work = try scratchFolder()
        let outcome = try await CLI.run(
            ["bench", "--generate", "4", "--megapixels", "0.3", "--rounds", "1", "--sweep", "1,2", "--json", "bench.json", "--html", "bench.html"],
            in: work
        )
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("images/s") && outcome.stdout.contains("raw libvips parallel"))

        let json = try report(work.appendingPathComponent("bench.json"))
        #expect(json["schema"] as? String == "calotype-bench/1")
        #expect(json["target"] as? String == "in-process")
        #expect((json["inputs"] as? [String: Any])?["images"] as? Int == 4)
        let modes = try modes(json)
        let expected = [
            "calotype.sequential.auto", "calotype.parallel.auto", "calotype.sweep.auto.1", "calotype.sweep.auto.2",
            "libvips.sequential", "libvips.parallel", "libvips.sweep.1", "libvips.sweep.2",
        ]
        #expect(Set(modes.keys) == Set(expected))
        for id in expected {
            let mode = modes[id]
            #expect(median(mode, "images_per_second") > 0, "\(id)")
            #expect(median(mode, "megapixels_per_second") > 0, "\(id)")
            #expect(median(mode, "time_to_first_result_ms") > 0, "\(id)")
            #expect(mode?["images_per_round"] as? Int == 4, "\(id)")
            #expect(mode?["rounds"] as? Int == 1, "\(id)")
            #expect(mode?["failures"] as? Int == 0, "\(id)")
            let jobs = (mode?["jobs_per_backend"] as? [String: Int])?.values.reduce(0, +)
            #expect(jobs == 4, "\(id): one job per image")
            #expect((mode?["latency_percentiles_ms"] as? [Double])?.count == 101, "\(id)")
            #expect(((mode?["cpu_utilisation"] as? [String: Any])?["median"] as? Double ?? 0) > 0, "\(id)")
            #expect((mode?["peak_memory_bytes"] as? Int ?? 0) > 0, "\(id)")
        }
        #expect(modes["calotype.sequential.auto"]?["speedup_over_sequential"] as? Double == 1)
        let comparisons = try #require(json["comparisons"] as? [String: Double])
        #expect((comparisons["parallel_over_raw_libvips"] ?? 0) > 0)
        #expect((comparisons["parallel_speedup"] ?? 0) > 0)

        let html = try String(contentsOf: work.appendingPathComponent("bench.html"), encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        for chart in ["throughput-by-mode", "throughput-vs-workers", "latency-distribution"] {
            #expect(html.contains("<svg id=\"\(chart)\""), "\(chart)")
        }
        #expect(html.contains("<polyline"))
        #expect(!html.contains("<script") && !html.contains("src=\"http"), "self-contained")
    }

    @Test func aMissingFolderIsAUsageError() async throws {
        let outcome = try await CLI.run(["bench", "--images", "nowhere", "--rounds", "1"], in: try scratchFolder())
        #expect(outcome.status == 64)
        #expect(outcome.stderr.contains("no such folder: nowhere"))
    }

    @Test func anEmptyFolderSaysThereAreNoImages() async throws {
        let work = try scratchFolder()
        try FileManager.default.createDirectory(at: work.appendingPathComponent("empty"), withIntermediateDirectories: true)
        let outcome = try await CLI.run(["bench", "--images", "empty", "--rounds", "1"], in: work)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("error: no images in empty (the folder is empty)"))
    }

    @Test func aFolderWithoutImagesSaysSo() async throws {
        let work = try scratchFolder()
        let folder = work.appendingPathComponent("notes")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("not an image".utf8).write(to: folder.appendingPathComponent("a.jpg"))
        let outcome = try await CLI.run(["bench", "--images", "notes", "--rounds", "1"], in: work)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("error: no images in notes (1 file that is not an image in an accepted format)"))
    }

    @Test func zeroRoundsIsAUsageError() async throws {
        let outcome = try await CLI.run(["bench", "--generate", "2", "--rounds", "0"], in: try scratchFolder())
        #expect(outcome.status == 64)
        #expect(outcome.stderr.contains("--rounds must be 1...1000, got 0"))
    }

    @Test func anUnreachableServerSaysSoAndFails() async throws {
        let port = try closedLoopbackPort()
        let outcome = try await CLI.run(
            ["bench", "--generate", "2", "--megapixels", "0.1", "--rounds", "1", "--url", "http://127.0.0.1:\(port)"],
            in: try scratchFolder()
        )
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("cannot reach the server at http://127.0.0.1:\(port): connection refused"))
    }

    @Test func aSweepOverHTTPIsAUsageError() async throws {
        let outcome = try await CLI.run(
            ["bench", "--generate", "2", "--url", "http://127.0.0.1:8080", "--sweep", "1,2"],
            in: try scratchFolder()
        )
        #expect(outcome.status == 64)
        #expect(outcome.stderr.contains("--sweep applies to in-process runs"))
    }

    @Test func withInProcessWithoutAServerIsAUsageError() async throws {
        let outcome = try await CLI.run(["bench", "--generate", "2", "--with-in-process"], in: try scratchFolder())
        #expect(outcome.status == 64)
        #expect(outcome.stderr.contains("--with-in-process goes with --url"))
    }

    @Test func overHTTPEveryEndpointIsMeasured() async throws {
        let work = try scratchFolder()
        let (server, port) = try await ServeCommandTests().startServer(in: work)
        let outcome = try await CLI.run(
            [
                "bench", "--generate", "3", "--megapixels", "0.3", "--rounds", "1", "--url", "http://127.0.0.1:\(port)", "--clients", "2",
                "--with-in-process", "--json", "http.json", "--html", "http.html",
            ],
            in: work
        )
        kill(server.processIdentifier, SIGTERM)
        #expect(outcome.status == 0, "\(outcome.stderr)")

        let json = try report(work.appendingPathComponent("http.json"))
        #expect(json["target"] as? String == "http://127.0.0.1:\(port)")
        let modes = try modes(json)
        let expected = ["http.process.1", "http.process.2", "http.process-batch", "http.process-batch-stream", "http.process-batch-fast"]
        #expect(Set(modes.keys) == Set(expected + ["calotype.parallel.auto"]), "the in-process parallel mode beside the server's")
        for id in expected {
            let mode = modes[id]
            #expect(median(mode, "images_per_second") > 0, "\(id)")
            #expect(median(mode, "time_to_first_result_ms") > 0, "\(id)")
            #expect(mode?["images_per_round"] as? Int == 3, "\(id)")
            #expect(mode?["failures"] as? Int == 0, "\(id)")
            #expect((mode?["jobs_per_backend"] as? [String: Int])?["libvips"] == 3, "\(id): every result names its backend")
        }
        #expect(modes["http.process-batch-fast"]?["endpoint"] as? String == "/process-batch-fast")
        for id in ["http.process-batch-stream", "http.process-batch-fast"] {
            let event = median(modes[id], "time_to_first_event_ms")
            #expect(event > 0 && event <= median(modes[id], "time_to_first_result_ms"), "\(id): the upload is parsed before any result")
        }
        #expect(modes["http.process-batch"]?["time_to_first_event_ms"] == nil, "no events in a JSON answer")
        let comparisons = try #require(json["comparisons"] as? [String: Double])
        #expect((comparisons["stream_ttfr_over_single_latency"] ?? 0) > 0)
        #expect((comparisons["fast_ttfr_over_single_latency"] ?? 0) > 0)
        #expect((comparisons["stream_ttfr_over_first_image_alone"] ?? 0) > 0)
        #expect((comparisons["fast_over_in_process_parallel"] ?? 0) > 0)
        #expect(FileManager.default.fileExists(atPath: work.appendingPathComponent("http.html").path))

        let status: Int32 = await withCheckedContinuation { continuation in
            server.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            if !server.isRunning {
                server.terminationHandler = nil
                continuation.resume(returning: server.terminationStatus)
            }
        }
        #expect(status == 0)
    }

    /// A loopback port nothing listens on: bound, read back, and closed again.
    func closedLoopbackPort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(socket >= 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
        }
        try #require(named == 0)
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
