import CalotypeCore
import CalotypeLibvips
import Foundation
import Testing

/// Runs the built `calotype` binary as a user would, in a scratch folder.
struct CLI {
    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Tests/Fixtures")

    static var binary: URL {
        get throws {
            let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("calotype")
            let candidates = [besideTests, root.appendingPathComponent(".build/debug/calotype")]
            return try #require(candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }, "build calotype first")
        }
    }

    static func run(_ arguments: [String], in folder: URL, environment: [String: String] = [:]) async throws -> Outcome {
        let process = Process()
        process.executableURL = try binary
        process.arguments = arguments
        // A job deadline no loaded machine reaches (under ASan, beside every
        // other suite, jobs of the default 10 s ran out): these tests check
        // what the commands do, not their speed. A test may set its own.
        let deadline = ["CALOTYPE_JOB_TIMEOUT": "600"]
        process.environment = ProcessInfo.processInfo.environment.merging(deadline.merging(environment) { $1 }) { $1 }
        process.currentDirectoryURL = folder
        let out = folder.appendingPathComponent(".stdout-\(UUID().uuidString)")
        let err = folder.appendingPathComponent(".stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        defer {
            try? FileManager.default.removeItem(at: out)
            try? FileManager.default.removeItem(at: err)
        }
        return Outcome(
            status: status,
            stdout: try String(contentsOf: out, encoding: .utf8),
            stderr: try String(contentsOf: err, encoding: .utf8)
        )
    }
}

/// A fresh scratch folder per test.
func scratchFolder() throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

func copyFixture(_ name: String, to folder: URL, as newName: String? = nil) throws {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: CLI.fixtures.appendingPathComponent(name), to: folder.appendingPathComponent(newName ?? name))
}

func imageSize(_ file: URL) throws -> (Int, Int, SourceFormat) {
    let bytes = try [UInt8](Data(contentsOf: file))
    let result: Result<(Int, Int, SourceFormat), ProcessingError> = bytes.withUnsafeBytes { buffer in
        Result { () throws(ProcessingError) in
            let source = try LibvipsSource(buffer, name: file.lastPathComponent, limits: ImageLimits())
            return (source.header.width, source.header.height, source.format)
        }
    }
    return try result.get()
}

@Suite("calotype process, as a user runs it")
struct ProcessCommandTests {
    @Test func aFolderWithBadFilesWritesTheGoodOnesAndReportsTheBad() async throws {
        let work = try scratchFolder()
        let input = work.appendingPathComponent("in")
        try copyFixture("photo.jpg", to: input)
        try copyFixture("alpha.png", to: input)
        try copyFixture("photo.webp", to: input.appendingPathComponent("nested"))
        try Data("not an image".utf8).write(to: input.appendingPathComponent("notes.jpg"))
        let photo = try Data(contentsOf: CLI.fixtures.appendingPathComponent("photo.jpg"))
        try photo.prefix(photo.count / 2).write(to: input.appendingPathComponent("truncated.jpg"))

        let outcome = try await CLI.run(["process", "in", "-o", "out", "--width", "100", "--format", "jpeg", "--quality", "80"], in: work)

        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("notes.jpg: unsupported_format"))
        #expect(outcome.stderr.contains("truncated.jpg: corrupt"))
        #expect(outcome.stdout.contains("5 images in"))
        #expect(outcome.stdout.contains("2 failed"))
        let out = work.appendingPathComponent("out")
        let written = try FileManager.default.subpathsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".jpg") }.sorted()
        #expect(written == ["alpha.jpg", "nested/photo.jpg", "photo.jpg"])
        let (width, height, format) = try imageSize(out.appendingPathComponent("photo.jpg"))
        #expect((width, height, format) == (100, 75, .jpeg))
    }

    @Test func aGoodFolderExitsZero() async throws {
        let work = try scratchFolder()
        try copyFixture("photo.jpg", to: work.appendingPathComponent("in"))
        try copyFixture("exif-rotated.jpg", to: work.appendingPathComponent("in"))
        let outcome = try await CLI.run(["process", "in", "-o", "out", "--width", "64", "--no-fast-shrink", "--format", "webp"], in: work)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("2 images in") && outcome.stdout.contains("images/s"))
        let (width, height, format) = try imageSize(work.appendingPathComponent("out/exif-rotated.webp"))
        #expect((width, height, format) == (64, 48, .webp))
    }

    /// A folder of links to photos elsewhere is a folder of photos; a link
    /// to a folder is not followed (no cycle can be walked).
    @Test func aFolderOfSymbolicLinksIsAFolderOfTheirFiles() async throws {
        let work = try scratchFolder()
        try copyFixture("photo.jpg", to: work.appendingPathComponent("elsewhere"))
        let links = work.appendingPathComponent("links")
        try FileManager.default.createDirectory(at: links, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            at: links.appendingPathComponent("linked.jpg"),
            withDestinationURL: work.appendingPathComponent("elsewhere/photo.jpg")
        )
        try FileManager.default.createSymbolicLink(at: links.appendingPathComponent("loop"), withDestinationURL: links)
        let outcome = try await CLI.run(["process", "links", "-o", "out", "--width", "50", "--format", "png"], in: work)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("1 image"), "\(outcome.stdout)")
        let (width, _, format) = try imageSize(work.appendingPathComponent("out/linked.png"))
        #expect(width == 50 && format == .png)
    }

    @Test func oneFileToANamedFile() async throws {
        let work = try scratchFolder()
        try copyFixture("photo.jpg", to: work)
        let outcome = try await CLI.run(
            [
                "process", "photo.jpg", "-o", "thumb.png", "--width", "50", "--height", "50", "--fit", "cover", "--format", "png", "--shorthand",
                "blur=1&grayscale=true",
            ],
            in: work
        )
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let (width, height, format) = try imageSize(work.appendingPathComponent("thumb.png"))
        #expect((width, height, format) == (50, 50, .png))
    }

    @Test func aJSONRecipeFile() async throws {
        let work = try scratchFolder()
        try copyFixture("photo.jpg", to: work)
        try Data(#"{"ops":[{"op":"rotate","angle":90},{"op":"resize","width":30}],"format":"png"}"#.utf8)
            .write(to: work.appendingPathComponent("recipe.json"))
        let outcome = try await CLI.run(["process", "photo.jpg", "-o", "out/", "--recipe", "recipe.json"], in: work)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let (width, height, _) = try imageSize(work.appendingPathComponent("out/photo.png"))
        #expect((width, height) == (30, 40))
    }

    @Test func anInvalidRecipeIsAUsageErrorNamingTheField() async throws {
        let work = try scratchFolder()
        try copyFixture("photo.jpg", to: work)
        let outcome = try await CLI.run(["process", "photo.jpg", "-o", "out.jpg", "--width", "0"], in: work)
        #expect(outcome.status == 64)
        #expect(outcome.stderr.contains("width must be 1...16384, got 0"))
        #expect(!FileManager.default.fileExists(atPath: work.appendingPathComponent("out.jpg").path))
    }

    /// `inf` and 1e13 megapixels once trapped when turned into a pixel count.
    @Test(arguments: ["inf", "1e13", "0", "nan"])
    func anOutOfRangePixelLimitIsAUsageError(limit: String) async throws {
        let work = try scratchFolder()
        try copyFixture("photo.jpg", to: work)
        let outcome = try await CLI.run(["process", "photo.jpg", "-o", "out.jpg", "--max-megapixels", limit], in: work)
        #expect(outcome.status == 64, "\(limit): \(outcome.stderr)")
        #expect(outcome.stderr.contains("--max-megapixels must be more than 0 and at most 1000"), "\(limit): \(outcome.stderr)")
    }

    @Test func aMissingInputIsAUsageError() async throws {
        let work = try scratchFolder()
        let outcome = try await CLI.run(["process", "nothing-here", "-o", "out"], in: work)
        #expect(outcome.status == 64)
        #expect(outcome.stderr.contains("no such file or folder: nothing-here"))
    }

    @Test func twoInputsForOneOutputNameDoNotOverwriteEachOther() async throws {
        let work = try scratchFolder()
        try copyFixture("photo.jpg", to: work.appendingPathComponent("in"))
        try copyFixture("photo.webp", to: work.appendingPathComponent("in"))
        let outcome = try await CLI.run(["process", "in", "-o", "out", "--format", "png", "--workers", "1"], in: work)
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("is already taken by"))
    }
}

@Suite("calotype devices and operations")
struct InformationCommandTests {
    @Test func devicesNamesLibvipsAndItsFormats() async throws {
        let outcome = try await CLI.run(["devices"], in: try scratchFolder())
        #expect(outcome.status == 0)
        #expect(outcome.stdout.contains("cpu: libvips 8."))
        #expect(outcome.stdout.contains("writes: jpeg, png, webp"))
    }

    @Test func operationsPrintsTheReference() async throws {
        let outcome = try await CLI.run(["operations"], in: try scratchFolder())
        #expect(outcome.status == 0)
        #expect(outcome.stdout == RecipeDocumentation.markdown())
    }
}
