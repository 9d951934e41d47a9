import Foundation

/// Progressive JPEGs made with `jpegtran` (libjpeg-turbo-progs), for the
/// tests of the scan limit.
public enum ProgressiveJPEG {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// `jpeg` rewritten with 89 scans, a legal progression jpegtran makes
    /// (its scripts stop at 100): DC refined one bit at a time over 11
    /// scans, then AC in bands of 5 coefficients per component, in two passes.
    public static func manyScans(from jpeg: [UInt8]) throws -> [UInt8] {
        let refinements = [(0, 10)] + (1...10).reversed().map { ($0, $0 - 1) }
        let bands = stride(from: 1, through: 63, by: 5).map { ($0, min($0 + 4, 63)) }
        var script = ""
        for (high, low) in refinements { script += "0,1,2: 0-0, \(high), \(low);\n" }
        for (high, low) in [(0, 1), (1, 0)] {
            for component in 0..<3 {
                for (first, last) in bands { script += "\(component): \(first)-\(last), \(high), \(low);\n" }
            }
        }
        return try jpegtran(jpeg, arguments: ["-scans"], script: script)
    }

    /// A scan bomb of `scans` scans (2,660 by default, as the hostile-input
    /// probe's): `manyScans(from:)` with its last scan repeated. The
    /// repeats break the progression (libvips gives up after 100 warnings),
    /// but the scan limit must refuse the file from its markers alone,
    /// before any of that.
    public static func scanBomb(from jpeg: [UInt8], scans: Int = 2660) throws -> [UInt8] {
        let legal = try manyScans(from: jpeg)
        guard let lastScan = legal.lastRange(of: [0xFF, 0xDA]), let end = legal.lastRange(of: [0xFF, 0xD9]) else {
            throw Failure(description: "jpegtran wrote no scans")
        }
        let repeated = legal[lastScan.lowerBound..<end.lowerBound]
        var bomb = Array(legal[..<end.lowerBound])
        for _ in 0..<(scans - 89) { bomb += repeated }
        return bomb + [0xFF, 0xD9]
    }

    /// `jpeg` rewritten with jpegtran's standard progression (about 10 scans).
    public static func standard(from jpeg: [UInt8]) throws -> [UInt8] {
        try jpegtran(jpeg, arguments: ["-progressive"], script: nil)
    }

    private static func jpegtran(_ jpeg: [UInt8], arguments: [String], script: String?) throws -> [UInt8] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("calotype-scans-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("in.jpg")
        let output = folder.appendingPathComponent("out.jpg")
        try Data(jpeg).write(to: input)
        var all = arguments
        if let script {
            let scripted = folder.appendingPathComponent("scans.txt")
            try script.write(to: scripted, atomically: true, encoding: .utf8)
            all.append(scripted.path)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/jpegtran")
        process.arguments = all + ["-outfile", output.path, input.path]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(
                description: "jpegtran \(all.joined(separator: " ")) exited with \(process.terminationStatus) (install libjpeg-turbo-progs)"
            )
        }
        return try [UInt8](Data(contentsOf: output))
    }
}
