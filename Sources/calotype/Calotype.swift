import ArgumentParser

@main
struct Calotype: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calotype",
        abstract: "A GPU-aware image-processing engine: resize, crop, rotate, filter and convert images, fast.",
        subcommands: [
            ServeCommand.self, ProcessCommand.self, BenchCommand.self, DevicesCommand.self, OperationsCommand.self, SignCommand.self,
            MigrateCommand.self, KeysCommand.self,
        ]
    )
}
