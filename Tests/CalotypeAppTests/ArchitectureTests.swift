import Foundation
import Testing

/// The arrows of docs/ARCHITECTURE.md, checked on the sources: what each
/// module imports, and who reads the environment.
@Suite("Architecture")
struct ArchitectureTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    /// Every Swift file of `module`, with its text.
    static func files(of module: String) throws -> [(name: String, text: String)] {
        let folder = sources.appendingPathComponent(module)
        let urls =
            FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
        return try urls.map { ($0.lastPathComponent, try String(contentsOf: $0, encoding: .utf8)) }
    }

    static func imports(of module: String) throws -> Set<String> {
        let pattern = try Regex(#"(?m)^(?:@testable |public |package )?import (\w+)"#)
        return Set(
            try files(of: module).flatMap { file in
                file.text.matches(of: pattern).compactMap { $0.output[1].substring.map(String.init) }
            }
        )
    }

    @Test func theVocabularyImportsNothingOfTheProject() throws {
        let imports = try Self.imports(of: "CalotypeCore")
        #expect(imports.isSubset(of: ["Foundation", "Glibc"]), "CalotypeCore imports \(imports.sorted())")
    }

    @Test(arguments: ["Scheduler", "Server"])
    func theSchedulerAndTheServerKnowNoBackend(_ module: String) throws {
        // Nor the sources and sinks: the composition root plugs them in through the server's protocols.
        let backends: Set<String> = [
            "CVips", "CVipsFixes", "CVipsOperations", "COpenCL", "CalotypeLibvips", "CalotypeOpenCL", "CalotypeApp", "CalotypeS3", "CalotypeSources",
        ]
        let imports = try Self.imports(of: module)
        #expect(imports.isDisjoint(with: backends), "\(module) imports \(imports.intersection(backends).sorted())")
    }

    /// The parts of images by reference and of cluster mode depend on the
    /// vocabulary, never on the scheduler or the server (which speak to them
    /// only through the protocols the composition root plugs them into).
    @Test(arguments: ["CalotypeCluster", "CalotypeSources", "CalotypeS3"])
    func referencesAndTheClusterStayOffTheSchedulerAndTheServer(_ module: String) throws {
        let forbidden: Set<String> = ["Scheduler", "Server", "CalotypeApp", "CalotypeLibvips", "CalotypeOpenCL", "CalotypeBench"]
        let imports = try Self.imports(of: module)
        #expect(imports.isDisjoint(with: forbidden), "\(module) imports \(imports.intersection(forbidden).sorted())")
    }

    /// The command line parses arguments and calls the composition root: it
    /// builds no backend and no server itself.
    @Test func theCommandLineImportsNoBackendAndNoServer() throws {
        let forbidden: Set<String> = [
            "CVips", "CVipsFixes", "CVipsOperations", "COpenCL", "CalotypeLibvips", "CalotypeOpenCL", "Server", "Hummingbird", "ServiceLifecycle",
        ]
        let imports = try Self.imports(of: "calotype")
        #expect(imports.isDisjoint(with: forbidden), "calotype imports \(imports.intersection(forbidden).sorted())")
    }

    /// The scheduler knows the vocabulary and no other module of the project.
    @Test func theSchedulerKnowsOnlyTheVocabulary() throws {
        let project: Set<String> = [
            "Server", "CalotypeApp", "CalotypeLibvips", "CalotypeOpenCL", "CalotypeS3", "CalotypeSources", "CalotypeCluster",
            "CalotypeImageURL", "CalotypeBench",
        ]
        let imports = try Self.imports(of: "Scheduler")
        #expect(imports.isDisjoint(with: project), "Scheduler imports \(imports.intersection(project).sorted())")
    }

    /// imgproxy's URL format needs no HTTP server: `calotype sign` makes
    /// URLs without importing the server.
    @Test func theImageURLFormatStandsWithoutTheServer() throws {
        let imports = try Self.imports(of: "CalotypeImageURL")
        #expect(imports.isSubset(of: ["CalotypeCore", "Crypto", "Foundation"]), "CalotypeImageURL imports \(imports.sorted())")
        let sign = try #require(try Self.files(of: "calotype").first { $0.name == "SignCommand.swift" })
        #expect(!sign.text.contains("import Server"), "calotype sign imports the server")
    }

    /// Configuration is read once, in the composition root (and the CLI on
    /// top of it); nothing below it reads or sets the environment.
    @Test(arguments: [
        "CalotypeCore", "CalotypeLibvips", "CalotypeOpenCL", "CalotypeS3", "CalotypeSources", "CalotypeImageURL", "CalotypeCluster", "Scheduler",
        "Server", "CalotypeBench",
    ])
    func nothingBelowTheCompositionRootReadsTheEnvironment(_ module: String) throws {
        for file in try Self.files(of: module) {
            for call in ["processInfo.environment", "getenv(", "setenv("] {
                #expect(!file.text.contains(call), "\(module)/\(file.name) calls \(call)")
            }
        }
    }

    @Test func nothingSetsTheEnvironmentForConfiguration() throws {
        for module in ["CalotypeApp", "calotype"] {
            for file in try Self.files(of: module) {
                #expect(!file.text.contains("setenv("), "\(module)/\(file.name) calls setenv")
            }
        }
    }
}
