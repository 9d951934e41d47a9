import Foundation

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

    /// `environment` with the variables of `file` (if it exists) that it
    /// does not already have: what the configuration is read from. The
    /// process environment itself is left alone.
    public static func environment(_ file: URL, over environment: [String: String]) throws -> [String: String] {
        guard FileManager.default.fileExists(atPath: file.path) else { return environment }
        let values = parse(try String(contentsOf: file, encoding: .utf8))
        return environment.merging(values) { set, _ in set }
    }
}
