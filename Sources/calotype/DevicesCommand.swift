import ArgumentParser
import CalotypeApp

/// `calotype devices`: what this machine can run and read and write.
struct DevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the backends, devices and formats available on this machine.",
        discussion: """
            OpenCL GPUs and accelerators are used by default; CPU OpenCL devices (PoCL) only with \
            CALOTYPE_OPENCL_CPU=1. Compiled kernels are cached in CALOTYPE_CACHE_DIR (default: the user's cache folder).
            """
    )

    @OptionGroup(title: "Settings") var settingsOptions: SettingsOptions

    func run() async throws {
        let engine: Engine.Configuration
        do {
            engine = try Engine.Configuration.read(from: try await settingsOptions.load())
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
        let report = await DeviceReport.make(engine)
        for line in report.lines { print(line) }
        if !report.available { throw ExitCode(1) }
    }
}
