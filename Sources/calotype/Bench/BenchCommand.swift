import ArgumentParser
import AsyncHTTPClient
import Backends
import Foundation
import Scheduler
import Server

/// `calotype bench`: throughput and latency of Calotype's modes on one set of
/// images, against libvips called directly, in this process or against a
/// running server.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput and latency: sequential, parallel, a sweep of workers and raw libvips, or a running server's endpoints.",
        discussion: """
            In-process (the default), each round runs every mode once over every image, interleaved: \
            sequential (one image at a time), parallel (the default workers), each --sweep worker count, \
            and the same thumbnails made by libvips' C API directly on plain threads (1, the default \
            workers, each sweep count). With --url, the modes are a running server's POST /process \
            (1 and --clients clients), /process-batch, /process-batch-stream and /process-batch-fast.
            One warm-up round is not counted; each figure is the median of --rounds rounds with its range.
            Inputs are held in memory and outputs discarded: file I/O is not measured.

            Examples:
              calotype bench --images photos/ --sweep 1,2,3 --json b.json --html b.html
              calotype bench --generate 24 --megapixels 4 --backend cpu,auto
              calotype bench --images photos/ --url http://127.0.0.1:8080 --clients 4
            """
    )

    @Option(help: ArgumentHelp("A folder of images (read recursively; files that are not images are skipped).", valueName: "dir"))
    var images: String?

    @Option(help: ArgumentHelp("Generate this many photo-like JPEGs (Q 90) instead of reading a folder.", valueName: "n"))
    var generate: Int?

    @Option(help: "Megapixels of each generated image.")
    var megapixels: Double = 2

    @OptionGroup(title: "Recipe (default: --width 800 --format jpeg --quality 80)")
    var recipeOptions: RecipeOptions

    @Option(help: ArgumentHelp("Where jobs run, one or more of auto, cpu, gpu (comma-separated); each gets its own modes.", valueName: "list"))
    var backend: String = "auto"

    @Option(help: ArgumentHelp("Worker counts to sweep, e.g. 1,2,3,4 (in-process only).", valueName: "list"))
    var sweep: String?

    @Option(help: "Counted rounds (one more warms up first).")
    var rounds: Int = 5

    @Option(help: ArgumentHelp("Benchmark a running server at this URL instead of this process.", valueName: "url"))
    var url: String?

    @Option(help: "Concurrent clients for POST /process (with --url).")
    var clients: Int = 2

    @Option(help: ArgumentHelp("Write the report as JSON (schema calotype-bench/1, see docs/BENCHMARKING.md).", valueName: "file"))
    var json: String?

    @Option(help: ArgumentHelp("Write the report as a self-contained HTML page with charts.", valueName: "file"))
    var html: String?

    @Option(help: ArgumentHelp("An in-process JSON report to compare a --url run with (adds fast_over_in_process_parallel).", valueName: "file"))
    var against: String?

    @Flag(help: "With --url, also run the in-process parallel mode in the same rounds (a server on this machine only), for fast_over_in_process_parallel.")
    var withInProcess = false

    @Flag(help: "No progress bar.")
    var quiet = false

    func validate() throws {
        switch (images, generate) {
        case (nil, nil): throw ValidationError("give --images DIR or --generate N")
        case (.some, .some): throw ValidationError("give either --images or --generate, not both")
        default: break
        }
        if let images {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: images, isDirectory: &isDirectory) else {
                throw ValidationError("no such folder: \(images)")
            }
            guard isDirectory.boolValue else { throw ValidationError("--images must be a folder, got the file \(images)") }
        }
        if let generate, !(1...10_000).contains(generate) {
            throw ValidationError("--generate must be 1...10000, got \(generate)")
        }
        guard megapixels > 0, megapixels <= 100 else {
            throw ValidationError("--megapixels must be more than 0 and at most 100, got \(megapixels)")
        }
        guard (1...1000).contains(rounds) else { throw ValidationError("--rounds must be 1...1000, got \(rounds)") }
        guard (1...256).contains(clients) else { throw ValidationError("--clients must be 1...256, got \(clients)") }
        _ = try placements()
        let counts = try sweepCounts()
        if url != nil, !counts.isEmpty {
            throw ValidationError("--sweep applies to in-process runs; a server's workers are set when it starts (calotype serve --workers N)")
        }
        // Checked before the run, not after it: a long run must not end in "cannot write".
        for path in [json, html].compactMap({ $0 }) {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("cannot write \(path): no such folder \(folder)")
            }
        }
        if withInProcess, url == nil {
            throw ValidationError("--with-in-process goes with --url (in-process runs have the parallel mode anyway)")
        }
        if let url {
            guard let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https", parsed.host != nil else {
                throw ValidationError("--url must be an http:// URL such as http://127.0.0.1:8080, got '\(url)'")
            }
        }
    }

    func placements() throws -> [Placement] {
        var found: [Placement] = []
        for name in backend.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            guard let placement = Placement(rawValue: name) else {
                throw ValidationError("--backend takes auto, cpu or gpu (comma-separated), got '\(name)'")
            }
            if !found.contains(placement) { found.append(placement) }
        }
        guard !found.isEmpty else { throw ValidationError("--backend needs at least one of auto, cpu, gpu") }
        return found
    }

    func sweepCounts() throws -> [Int] {
        guard let sweep else { return [] }
        var counts: [Int] = []
        for text in sweep.split(separator: ",") {
            guard let count = Int(text.trimmingCharacters(in: .whitespaces)), (1...64).contains(count) else {
                throw ValidationError("--sweep takes worker counts 1...64 separated by commas, got '\(sweep)'")
            }
            if !counts.contains(count) { counts.append(count) }
        }
        return counts
    }

    /// The recipe flags, or the default thumbnail when none is given.
    func recipe() throws -> Recipe {
        guard recipeOptions.isEmpty else { return try recipeOptions.makeRecipe() }
        do {
            return try Recipe(shorthand: "width=800&format=jpeg&quality=80")
        } catch {
            throw ValidationError("invalid default recipe: \(error)")
        }
    }

    func run() async throws {
        let recipe = try recipe()
        let placements = try placements()
        let startedAt = Date()
        do {
            // Read first: a report that cannot be compared with should not cost a whole run.
            var other: BenchReport?
            if let against { other = try await BenchReport.read(against) }
            var report = try await measure(recipe: recipe, placements: placements, startedAt: startedAt)
            if let other { report.compare(with: other) }
            print(BenchTable.render(report), terminator: "")
            try await report.write(json: json, html: html)
        } catch let error as BenchError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    private func measure(recipe: Recipe, placements: [Placement], startedAt: Date) async throws -> BenchReport {
        guard let url else { return try await measure(recipe: recipe, placements: placements, startedAt: startedAt, client: nil) }
        let client = HTTPModes.makeClient(clients: clients)
        do {
            // Before anything is read or generated: an unreachable server is the first thing to say.
            try await HTTPModes.checkReachable(Self.trimmed(url), client: client)
            let report = try await measure(recipe: recipe, placements: placements, startedAt: startedAt, client: client)
            try? await client.shutdown()
            return report
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func measure(recipe: Recipe, placements: [Placement], startedAt: Date, client: HTTPClient?) async throws -> BenchReport {
        let loadAverage = Self.loadAverage()
        let set: BenchImages
        if let images {
            set = try await BenchImages.load(folder: images)
        } else {
            set = try await BenchImages.generate(count: generate ?? 1, megapixels: megapixels)
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
                baseURL: Self.trimmed(url), images: set, query: query, recipeJSON: recipeQuery == nil ? recipe.json : nil,
                clients: clients, backend: placements[0], client: client
            ).runners()
            notes.append("HTTP latency is the client's: request sent to that image's result received (whole answer for /process-batch and /process)")
        }
        if url == nil || withInProcess {
            var configuration: Engine.Configuration
            do {
                configuration = try Engine.Configuration.fromEnvironment()
            } catch {
                throw ValidationError("\(error)")
            }
            var rawPlan: RawLibvipsPlan?
            if url == nil {
                switch RawLibvipsPlan.make(for: recipe) {
                case .success(let plan): rawPlan = plan
                case .failure(let unavailable): notes.append("no raw libvips baseline: \(unavailable.reason)")
                }
            }
            let engines = EnginePool(base: configuration)
            pool = engines
            do {
                let inProcess = try await InProcessModes(
                    images: set, recipe: recipe, backends: url == nil ? placements : [placements[0]],
                    sweep: try sweepCounts(), base: configuration, rawPlan: rawPlan, pool: engines
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

        let session = BenchSession(runners: runners, rounds: rounds, imagesPerRound: set.images.count, showProgress: !quiet)
        let results: [(mode: BenchMode, samples: [RoundSample])]
        do {
            results = try await session.run()
        } catch {
            await pool?.shutdown()
            throw error
        }
        await pool?.shutdown()

        let origin: (String, String?) = switch set.origin {
        case .folder(let path): ("folder", path)
        case .generated(let count, let megapixels): ("generated", "\(count) synthetic JPEGs of \(megapixels) MP")
        }
        var report = BenchReport(
            calotypeVersion: CalotypeServer.version, libvipsVersion: try? LibvipsRuntime.shared().version,
            startedAt: ISO8601DateFormatter().string(from: startedAt),
            host: .init(cores: ProcessInfo.processInfo.activeProcessorCount, loadAverage: loadAverage, os: ProcessInfo.processInfo.operatingSystemVersionString),
            target: url.map(Self.trimmed) ?? "in-process", recipe: shorthand, backends: placements.map(\.rawValue),
            inputs: .init(source: origin.0, path: origin.1, images: set.images.count, megapixels: set.totalMegapixels, bytes: set.totalBytes, skipped: set.skipped),
            rounds: rounds, warmupRounds: 1,
            modes: results.compactMap { BenchReport.Mode($0.mode, samples: $0.samples, imagesPerRound: set.images.count) },
            comparisons: [:], notes: notes)
        report.compare()
        return report
    }

    private static func trimmed(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    private static func loadAverage() -> [Double] {
        var values = [Double](repeating: 0, count: 3)
        let count = getloadavg(&values, 3)
        return count > 0 ? Array(values.prefix(Int(count))) : []
    }
}
