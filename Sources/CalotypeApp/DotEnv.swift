import CalotypeCore
import CalotypeLibvips
import CalotypeOpenCL
import Foundation
import Scheduler
import Server

/// `.env` files: `KEY=value` lines, `#` comments, optional `export ` and
/// quotes. Variables already in the environment win over the file, and
/// flags win over both.
public enum DotEnv {
    /// Parses the text of a `.env` file.
    public static func parse(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for rawLine in text.split(whereSeparator: \.isNewline) {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
            } else if let comment = value.range(of: " #") {
                value = value[..<comment.lowerBound].trimmingCharacters(in: .whitespaces)
            }
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { continue }
            values[key] = value
        }
        return values
    }

    /// Reads `file` (if it exists) and sets each of its variables that the
    /// environment does not already have. Call once at start-up, before
    /// anything reads the environment or starts threads.
    @discardableResult
    public static func apply(_ file: URL) throws -> [String] {
        guard FileManager.default.fileExists(atPath: file.path) else { return [] }
        let values = parse(try String(contentsOf: file, encoding: .utf8))
        var applied: [String] = []
        for (key, value) in values.sorted(by: { $0.key < $1.key }) where ProcessInfo.processInfo.environment[key] == nil {
            setenv(key, value, 0)
            applied.append(key)
        }
        return applied
    }
}
