import Foundation
import NIOPosix

/// Reading and writing reports. Files block, so both run on NIO's blocking pool.
extension BenchReport {
    /// Writes the JSON and HTML reports that were asked for, each atomically.
    package func write(json: String?, html: String?) async throws {
        var files: [(path: String, data: Data)] = []
        if let json {
            do {
                files.append((json, try jsonData()))
            } catch {
                throw BenchError.cannotWrite(path: json, reason: "\(error)")
            }
        }
        if let html { files.append((html, Data(BenchHTML.render(self).utf8))) }
        let writes = files
        let failure = try await NIOThreadPool.singleton.runIfActive { () -> BenchError? in
            for file in writes {
                do {
                    try file.data.write(to: URL(fileURLWithPath: file.path), options: .atomic)
                } catch {
                    return .cannotWrite(path: file.path, reason: error.localizedDescription)
                }
            }
            return nil
        }
        if let failure { throw failure }
    }

    /// Reads a report written by `--json`.
    package static func read(_ path: String) async throws -> BenchReport {
        let data = try await NIOThreadPool.singleton.runIfActive { try? Data(contentsOf: URL(fileURLWithPath: path)) }
        guard let data else { throw BenchError.cannotRead(path: path, reason: "no such file, or it cannot be read") }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(BenchReport.self, from: data)
        } catch {
            throw BenchError.cannotRead(path: path, reason: "not a \(schemaVersion) report (\(error))")
        }
    }

    /// Adds `fast_over_in_process_parallel`: `/process-batch-fast` over HTTP
    /// against the in-process parallel mode, whichever of the two reports
    /// (this run or `other`) holds which.
    package mutating func compare(with other: BenchReport) {
        // A ratio measured within this run's interleaved rounds beats one across two runs.
        guard comparisons["fast_over_in_process_parallel"] == nil else { return }
        let backend = backends.first ?? "auto"
        let pairs = [(self, other), (other, self)]
        for (http, inProcess) in pairs {
            if let fast = http.mode("http.process-batch-fast")?.imagesPerSecond.median,
                let parallel = inProcess.mode("calotype.parallel.\(backend)")?.imagesPerSecond.median, parallel > 0
            {
                comparisons["fast_over_in_process_parallel"] = fast / parallel
            }
        }
    }
}
