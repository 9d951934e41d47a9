import CalotypeApp
import CalotypeCore
import CalotypeLibvips
import Foundation
import NIOCore
import NIOPosix
import TestSupport
import Testing

@testable import Server

/// The multipart parser against generated bodies: binary parts full of the
/// bytes a delimiter is made of must come back exactly, and damaged bodies
/// must be refused (or parsed), never crash or hang.
@Suite("Multipart parser, fuzzed")
struct MultipartFuzzTests {
    struct Part: Equatable {
        var name: String
        var filename: String?
        var body: [UInt8]
    }

    /// Bytes biased towards CR, LF, '-' and the boundary's own, where a parser goes wrong.
    static func tricky(_ count: Int, boundary: [UInt8], using random: inout SplitMix64) -> [UInt8] {
        let alphabet: [UInt8] = Array("\r\n-".utf8) + boundary
        return (0..<count).map { _ in
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<5: alphabet.randomElement(using: &random) ?? 0
            case 5: 0
            default: UInt8.random(in: 0...255, using: &random)
            }
        }
    }

    static func body(_ parts: [Part], boundary: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for part in parts {
            var disposition = "form-data; name=\"\(part.name)\""
            if let filename = part.filename {
                disposition += "; filename=\"\(filename.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\""
            }
            bytes += Array("--\(boundary)\r\nContent-Disposition: \(disposition)\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
            bytes += part.body + Array("\r\n".utf8)
        }
        return bytes + Array("--\(boundary)--\r\n".utf8)
    }

    static func randomParts(boundary: String, using random: inout SplitMix64) -> [Part] {
        (0..<Int.random(in: 1...5, using: &random)).map { index in
            let named = Bool.random(using: &random)
            let filename = named ? "photo \(index) \"quoted\" \\ back.jpg" : nil
            let size = [0, 1, 2, 3, 17, 255, 4096].randomElement(using: &random) ?? 0
            return Part(
                name: index.isMultiple(of: 2) ? "files" : "files[]",
                filename: filename,
                body: tricky(size, boundary: Array(boundary.utf8), using: &random)
            )
        }
    }

    /// Seconds of parsing: on a thread of its own, off the cooperative
    /// threads that the live servers of the suites beside it answer on.
    @Test func generatedBodiesRoundTripExactly() async throws {
        let mismatches = try await offThePool { try Self.roundTrips() }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }

    /// The rounds whose parts did not come back as written.
    static func roundTrips() throws -> [String] {
        var mismatches: [String] = []
        var random = SplitMix64(seed: 0xCA10_7E9E)
        for round in 0..<500 {
            let boundary =
                "b" + String((0..<Int.random(in: 1...40, using: &random)).map { _ in "-_.0123456789abcXYZ".randomElement(using: &random) ?? "x" })
            let parts = Self.randomParts(boundary: boundary, using: &random)
            // A client picks a boundary its content does not hold; skip the rare body that does.
            let delimiter = Array("\r\n--\(boundary)".utf8)
            if parts.contains(where: {
                ($0.body + Array("\r\n".utf8)).firstRange(of: delimiter) != nil || $0.body.starts(with: delimiter.dropFirst(2))
            }) {
                continue
            }
            let parsed = try Multipart.parse(ByteBuffer(bytes: Self.body(parts, boundary: boundary)), boundary: boundary)
            let back = parsed.map { Part(name: $0.name ?? "", filename: $0.filename, body: Array($0.body)) }
            if back != parts { mismatches.append("round \(round), boundary \(boundary)") }
        }
        return mismatches
    }

    @Test func damagedBodiesAreRefusedOrParsedNeverCrash() async throws {
        let (refused, overlong) = try await offThePool { Self.damagedBodies() }
        #expect(overlong == 0, "parts longer than their body")
        #expect(refused > 0, "truncation must be refused at least sometimes")
    }

    /// Bodies refused, and bodies parsed into more bytes than they hold.
    static func damagedBodies() -> (refused: Int, overlong: Int) {
        var random = SplitMix64(seed: 0xBAD_B0D1E5)
        var refused = 0
        var overlong = 0
        for _ in 0..<3000 {
            let boundary = "calotype-fuzz"
            var bytes = Self.body(Self.randomParts(boundary: boundary, using: &random), boundary: boundary)
            for _ in 0..<Int.random(in: 1...4, using: &random) where !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<5, using: &random) {
                case 0: bytes.removeSubrange(at...)  // truncated
                case 1: bytes[at] = UInt8.random(in: 0...255, using: &random)  // flipped
                case 2: bytes.insert(contentsOf: Array("\r\n--\(boundary)".utf8), at: at)  // a stray delimiter
                case 3: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...64, using: &random)))
                default: bytes.insert(contentsOf: Self.tricky(8, boundary: Array(boundary.utf8), using: &random), at: at)
                }
            }
            do {
                let parts = try Multipart.parse(ByteBuffer(bytes: bytes), boundary: boundary)
                if parts.reduce(0, { $0 + $1.body.count }) > bytes.count { overlong += 1 }
            } catch {
                refused += 1
            }
        }
        return (refused, overlong)
    }
}

@Suite("Multipart parser, part cap")
struct MultipartPartCapTests {
    @Test func partsBeyondTheCapStopTheParse() throws {
        var body = MultipartBody()
        for index in 0..<5 { body.addField("f\(index)", "v") }
        #expect(try Multipart.parse(body.body, boundary: body.boundary, maxParts: 5).count == 5)
        #expect(throws: Multipart.Failure.tooManyParts(limit: 4)) { try Multipart.parse(body.body, boundary: body.boundary, maxParts: 4) }
    }
}

@Suite("Saved file names")
struct SavedNameTests {
    /// 1,000 saves of one name used to exhaust its numbered names, after
    /// which every save of it failed; the fallback name `image` is shared by
    /// every upload without one.
    @Test func savesOfOneNameNeverRunOut() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-names-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let saver = ResultSaver(directory: folder, io: .singleton)
        var paths = Set<String>()
        let recipe = try Recipe(shorthand: "width=10")
        for index in 0..<40 {
            paths.insert(try await saver.save([1, 2, 3], item: SavedItem(batchID: "b", index: index, name: nil, recipe: recipe), format: .png))
        }
        #expect(paths.count == 40)
        let names = paths.map { URL(fileURLWithPath: $0).lastPathComponent }
        #expect(names.contains("image.png") && names.contains("image-16.png"))
        #expect(names.filter { $0.wholeMatch(of: /image-[0-9a-f]{8}\.png/) != nil }.count == 23)
    }
}
