import ArgumentParser
import CalotypeApp
import CalotypeBench
import CalotypeCore
import Foundation
import Scheduler

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
              calotype bench --cluster-sim 8,32,128 --database-url postgres://calotype@127.0.0.1:5432/postgres

            With --cluster-sim, no images: simulated cluster nodes (the claim loop, heartbeats, \
            event log and streams of real ones, with items that end at once) run batches through \
            one PostgreSQL, and the table gives items/s, statements per item, the claim's round trip \
            and the time from a batch's last item to its complete event, per node count.
            """
    )

    @Option(help: ArgumentHelp("A folder of images (read recursively; files that are not images are skipped).", valueName: "dir"))
    var images: String?

    @Option(help: ArgumentHelp("Generate this many photo-like JPEGs (Q 90) instead of reading a folder.", valueName: "n"))
    var generate: Int?

    @Option(help: "Megapixels of each generated image.")
    var megapixels: Double = 2

    @OptionGroup(title: "Settings") var settingsOptions: SettingsOptions

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

    @Flag(
        help:
            "With --url, also run the in-process parallel mode in the same rounds (a server on this machine only), for fast_over_in_process_parallel."
    )
    var withInProcess = false

    @Flag(help: "No progress bar.")
    var quiet = false

    @OptionGroup(title: "Cluster simulation") var clusterSim: ClusterSimOptions

    func validate() throws {
        // The simulation takes no images (its own options are checked in its group).
        guard !clusterSim.isRequested else { return }
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
        let settings = try await settingsOptions.load()
        if clusterSim.isRequested {
            try await clusterSim.run(settings: settings)
            return
        }
        AllocatorSetUp.apply(settings: settings)
        let configuration: Engine.Configuration
        do {
            configuration = try Engine.Configuration.read(from: settings)
        } catch {
            throw ValidationError("\(error)")
        }
        let plan = BenchRun(
            source: images.map(BenchRun.Source.folder) ?? .generate(count: generate ?? 1, megapixels: megapixels),
            recipe: try recipe(),
            placements: try placements(),
            sweep: try sweepCounts(),
            rounds: rounds,
            url: url.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 },
            clients: clients,
            engineConfiguration: configuration,
            withInProcess: withInProcess,
            showProgress: !quiet
        )
        do {
            // Read first: a report that cannot be compared with should not cost a whole run.
            var other: BenchReport?
            if let against { other = try await BenchReport.read(against) }
            var report = try await plan.run()
            if let other { report.compare(with: other) }
            print(BenchTable.render(report), terminator: "")
            try await report.write(json: json, html: html)
        } catch let error as BenchError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
