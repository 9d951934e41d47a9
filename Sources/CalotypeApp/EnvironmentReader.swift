import Foundation

/// Reads typed settings from environment variables, naming the variable
/// in the error when a value is unusable.
public struct EnvironmentReader: Sendable {
    public let environment: [String: String]

    public init(_ environment: [String: String]) {
        self.environment = environment
    }

    public func integer(_ name: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let text = environment[name] else { return nil }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw ConfigurationError(variable: name, value: text, allowed: "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// true/1/yes/on or false/0/no/off.
    public func flag(_ name: String) throws(ConfigurationError) -> Bool? {
        guard let text = environment[name] else { return nil }
        switch text.lowercased().trimmingCharacters(in: .whitespaces) {
        case "true", "1", "yes", "on", "auto": return true
        case "false", "0", "no", "off": return false
        default: throw ConfigurationError(variable: name, value: text, allowed: "true or false (on or off)")
        }
    }

    /// A non-empty string.
    public func string(_ name: String) -> String? {
        environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// An environment variable with a value Calotype cannot use.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var variable: String
    public var value: String
    public var allowed: String

    public init(variable: String, value: String, allowed: String) {
        self.variable = variable
        self.value = value
        self.allowed = allowed
    }

    public var description: String { "\(variable) must be \(allowed), got '\(value)'" }
}
