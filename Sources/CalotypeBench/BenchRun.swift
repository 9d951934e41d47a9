import AsyncHTTPClient
import CalotypeApp
import CalotypeCore
import CalotypeLibvips
import Foundation
import Scheduler
import Server

/// One benchmark as the command line asked for it: prepares the images and
/// the modes (in-process, or a server's endpoints), runs the rounds and
/// summarises them as a report.
package struct BenchRun {
    package enum Source {
        case folder(String)
        case generate(count: Int, megapixels: Double)
    }

    var source: Source
    var recipe: Recipe
    var placements: [Placement]
    var sweep: [Int]
    var rounds: Int
    /// A server's base URL, without a trailing slash; nil for in-process.
    var url: String?
    var clients: Int
    /// The engine settings for in-process modes (from `CALOTYPE_*`).
    var engineConfiguration: Engine.Configuration
    /// With `url`: the in-process parallel mode in the same rounds.
    var withInProcess: Bool
    var showProgress: Bool

    package init(
        source: Source,
        recipe: Recipe,
        placements: [Placement],
        sweep: [Int],
        rounds: Int,
        url: String?,
        clients: Int,
        engineConfiguration: Engine.Configuration,
        withInProcess: Bool,
        showProgress: Bool
    ) {
        self.source = source
        self.recipe = recipe
        self.placements = placements
        self.sweep = sweep
        self.rounds = rounds
        self.url = url
        self.clients = clients
        self.engineConfiguration = engineConfiguration
        self.withInProcess = withInProcess
        self.showProgress = showProgress
    }

    package func run() async throws -> BenchReport {
        guard let url else { return try await measure(client: nil) }
        let client = HTTPModes.makeClient(clients: clients)
        do {
            // Before anything is read or generated: an unreachable server is the first thing to say.
            try await HTTPModes.checkReachable(url, client: client)
            let report = try await measure(client: client)
            try? await client.shutdown()
            return report
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func measure(client: HTTPClient?) async throws -> BenchReport {
        let startedAt = Date()
        let loadAverage = Self.loadAverage()
        let set =
            switch source {
            case .folder(let folder): try await BenchImages.load(folder: folder)
            case .generate(let count, let megapixels): try await BenchImages.generate(count: count, megapixels: megapixels)
            }
        for name in set.skipped {
            FileHandle.standardError.write(Data("warning: skipping \(name): not an image in an accepted format\n".utf8))
        }

        var notes: [String] = []
        var runners: [ModeRunner] = []
        var pool: EnginePool?
        let shorthand = (try? recipe.shorthand()) ?? recipe.json
        if let url, let client {
            let recipeQuery = try? recipe.shorthand()
            let query = [recipeQuery, "backend=\(placements[0].rawValue)"].compactMap { $0 }.joined(separator: "&")
            if placements.count > 1 { notes.append("over HTTP only the first --backend (\(placements[0].rawValue)) is used") }
            runners = HTTPModes(
                baseURL: url,
                images: set,
                query: query,
                recipeJSON: recipeQuery == nil ? recipe.json : nil,
                clients: clients,
                backend: placements[0],
                client: client
            ).runners()
            notes.append("HTTP latency is the client's: request sent to that image's result received (whole answer for /process-batch and /process)")
        }
        if url == nil || withInProcess {
            var rawPlan: RawLibvipsPlan?
            if url == nil {
                switch RawLibvipsPlan.make(for: recipe) {
                case .success(let plan): rawPlan = plan
                case .failure(let unavailable): notes.append("no raw libvips baseline: \(unavailable.reason)")
                }
            }
            let engines = EnginePool(base: engineConfiguration)
            pool = engines
            do {
                let inProcess = try await InProcessModes(
                    images: set,
                    recipe: recipe,
                    backends: url == nil ? placements : [placements[0]],
                    sweep: sweep,
                    base: engineConfiguration,
                    rawPlan: rawPlan,
                    pool: engines
                ).runners()
                // Beside a server, only the parallel mode: the one its /process-batch-fast compares with.
                runners = (url == nil ? inProcess : inProcess.filter { $0.mode.role == .parallel }) + runners
            } catch {
                await engines.shutdown()
                throw error
            }
            notes.append("in-process latency is the scheduler's: queue wait + service")
            if rawPlan != nil { notes.append("raw libvips latency is one image start to finish on its thread") }
        }

        let session = BenchSession(runners: runners, rounds: rounds, imagesPerRound: set.images.count, showProgress: showProgress)
        let results: [(mode: BenchMode, samples: [RoundSample])]
        do {
            results = try await session.run()
        } catch {
            await pool?.shutdown()
            throw error
        }
        await pool?.shutdown()

        let origin: (String, String?) =
            switch set.origin {
            case .folder(let path): ("folder", path)
            case .generated(let count, let megapixels): ("generated", "\(count) synthetic JPEGs of \(megapixels) MP")
            }
        var report = BenchReport(
            calotypeVersion: CalotypeServer.version,
            libvipsVersion: try? LibvipsRuntime.shared().version,
            startedAt: ISO8601DateFormatter().string(from: startedAt),
            host: .init(
                cores: ProcessInfo.processInfo.activeProcessorCount,
                loadAverage: loadAverage,
                os: ProcessInfo.processInfo.operatingSystemVersionString
            ),
            target: url ?? "in-process",
            recipe: shorthand,
            backends: placements.map(\.rawValue),
            inputs: .init(
                source: origin.0,
                path: origin.1,
                images: set.images.count,
                megapixels: set.totalMegapixels,
                bytes: set.totalBytes,
                skipped: set.skipped
            ),
            rounds: rounds,
            warmupRounds: 1,
            modes: results.compactMap { BenchReport.Mode($0.mode, samples: $0.samples, imagesPerRound: set.images.count) },
            comparisons: [:],
            notes: notes
        )
        report.compare()
        return report
    }

    private static func loadAverage() -> [Double] {
        var values = [Double](repeating: 0, count: 3)
        let count = getloadavg(&values, 3)
        return count > 0 ? Array(values.prefix(Int(count))) : []
    }
}
