import ArgumentParser
import CalotypeApp
import CalotypeCore
import Foundation
import Scheduler

/// `calotype process`: files or folders in, a file or a folder out.
struct ProcessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "process",
        abstract: "Process image files or folders with a recipe.",
        discussion: """
            Folders are read recursively and mirrored under OUT. With one input file, OUT is the \
            output file unless it is an existing folder or ends in '/'. A file that fails is reported \
            by name and nothing is written for it; the others go on, and the exit code is 1 when any failed.

            Examples:
              calotype process photos/ -o thumbs/ --width 800 --format jpeg --quality 80
              calotype process in.png -o out.webp --width 400 --height 400 --fit cover --format webp
              calotype process a.jpg -o out/ --shorthand 'blur=2&rotate=90&grayscale=true'
            """
    )

    @Argument(help: "Image files or folders.")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "Output file (one input) or folder.")
    var output: String

    @OptionGroup var recipeOptions: RecipeOptions

    @OptionGroup(title: "Settings") var settingsOptions: SettingsOptions

    @Option(help: "Where jobs run: auto (wherever they finish first), cpu or gpu (falls back to the CPU, marked, when no GPU can take a job).")
    var backend: Placement = .auto

    @Option(help: "Jobs the CPU runs at once (default: CALOTYPE_CPU_WORKERS, else the cores clamped to 2...4).")
    var workers: Int?

    @Option(help: "Images in flight at once (default: twice the workers, so no lane waits for file I/O); 1 processes one image at a time.")
    var parallelism: Int?

    @Option(help: "Refuse images larger than this many megapixels before decoding them.")
    var maxMegapixels: Double = 50

    @Flag(help: "No progress bar.")
    var quiet = false

    func validate() throws {
        if let workers, !(1...64).contains(workers) {
            throw ValidationError("--workers must be 1...64, got \(workers)")
        }
        if let parallelism, !(1...1024).contains(parallelism) {
            throw ValidationError("--parallelism must be 1...1024, got \(parallelism)")
        }
        // The same range as CALOTYPE_MAX_MEGAPIXELS: `inf` or 1e13 would
        // trap when turned into a pixel count.
        guard maxMegapixels > 0, maxMegapixels <= 1_000 else {
            throw ValidationError("--max-megapixels must be more than 0 and at most 1000, got \(maxMegapixels)")
        }
    }

    func run() async throws {
        let recipe = try recipeOptions.makeRecipe()
        let work = try WorkList(inputs: inputs, output: output)
        guard !work.items.isEmpty else {
            throw ValidationError("no files found in \(inputs.joined(separator: ", "))")
        }

        let settings = try await settingsOptions.load()
        AllocatorSetUp.apply(settings: settings)
        var configuration: Engine.Configuration
        do {
            configuration = try Engine.Configuration.read(from: settings)
        } catch {
            throw ValidationError("\(error)")
        }
        if let workers { configuration.cpuWorkers = workers }
        if backend == .cpu { configuration.useGPU = false }  // No device discovery when none is wanted.
        configuration.limits.maxPixels = Int(maxMegapixels * 1_000_000)
        let engine: Engine
        do {
            engine = try await Engine.start(configuration)
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }

        await engine.calibrate()
        let progress = ProgressReporter(total: work.items.count, enabled: !quiet && work.items.count > 1)
        // Twice the workers by default: files are read and written while
        // others are processed, so every lane stays fed.
        let plan = BatchPlan(
            recipe: recipe,
            placement: backend,
            parallelism: parallelism ?? 2 * engine.scheduler.workerCount
        )
        let runner = BatchRunner(scheduler: engine.scheduler, plan: plan)
        let clock = ContinuousClock()
        let start = clock.now
        let summary = await runner.run(work) { outcome in
            if case .failed(let input, let message) = outcome {
                progress.record(failure: "\(input.path): \(message)")
            } else {
                progress.record(failure: nil)
            }
        }
        let elapsed = clock.now - start
        progress.finish()
        await engine.shutdown()
        summary.print(elapsed: elapsed)
        if summary.failed > 0 {
            throw ExitCode(1)
        }
    }
}

extension Placement: ExpressibleByArgument {}
