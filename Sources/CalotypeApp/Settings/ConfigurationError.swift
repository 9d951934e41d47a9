/// A setting Calotype cannot use: its name, where it came from, and why.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    /// The setting's name, as the environment, `.env`, the config file and
    /// the secrets folder all spell it (`CALOTYPE_PORT`).
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
