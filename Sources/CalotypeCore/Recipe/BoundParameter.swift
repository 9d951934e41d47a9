/// A parameter bound to the stored property that holds it, as libvips binds
/// each argument of an operation to its struct member (`G_STRUCT_OFFSET`):
/// the one place that says which property a declared parameter fills.
///
/// An operation lists its bound parameters once (`PipelineOperation.bound`),
/// and one generic reader, writer and validator serve every operation: both
/// recipe spellings, recipes written back, values made in code, and the docs.
public struct BoundParameter<Owner>: Sendable {
    /// The declaration, as the documentation shows it.
    public let info: ParameterInfo
    let read: @Sendable (ParameterReader, inout Owner) throws(RecipeError) -> Void
    let write: @Sendable (Owner, inout ParameterWriter) -> Void
    let validate: @Sendable (Owner) throws(RecipeError) -> Void
}

extension Parameter {
    /// This parameter, held in `property`; read as its value or its default
    /// (required when it has none).
    ///
    /// - Parameter alwaysWritten: written back even at its default (in the
    ///   shorthand, `sharpen=0.5` is what says "sharpen").
    public func bound<Owner>(to property: WritableKeyPath<Owner, Value> & Sendable, alwaysWritten: Bool = false) -> BoundParameter<Owner> {
        BoundParameter(
            info: info,
            read: { reader, owner throws(RecipeError) in owner[keyPath: property] = try reader.value(self) },
            write: { owner, writer in writer.write(self, owner[keyPath: property], evenIfDefault: alwaysWritten) },
            validate: { owner throws(RecipeError) in _ = try self.validated(owner[keyPath: property]) }
        )
    }

    /// This parameter, held in an optional `property`: absent (and without
    /// a default), it is `nil`.
    public func bound<Owner>(to property: WritableKeyPath<Owner, Value?> & Sendable) -> BoundParameter<Owner> {
        var described = info
        described.isOptional = true
        return BoundParameter(
            info: described,
            read: { reader, owner throws(RecipeError) in owner[keyPath: property] = try reader.optional(self) },
            write: { owner, writer in writer.write(self, owner[keyPath: property]) },
            validate: { owner throws(RecipeError) in
                if let value = owner[keyPath: property] { _ = try self.validated(value) }
            }
        )
    }
}

/// A value whose parameters are bound to its properties: read, written and
/// validated through its `bound` list alone.
public protocol ParameterBound {
    /// Each parameter bound to its property, in the order the docs list them.
    static var bound: [BoundParameter<Self>] { get }
    /// A value to read into: every bound property is overwritten, the rest
    /// keep what this has. Not validated, so never used as it is.
    static var unread: Self { get }
    /// Checks that span several parameters (each is already in its range);
    /// none by default.
    func checkCombination() throws(RecipeError)
}

extension ParameterBound {
    public func checkCombination() throws(RecipeError) {}

    /// The declared parameters, in the order the docs list them.
    public static var parameters: [ParameterInfo] { bound.map(\.info) }

    /// Reads and validates the value from either recipe spelling.
    public init(reading reader: ParameterReader) throws(RecipeError) {
        var value = Self.unread
        for parameter in Self.bound { try parameter.read(reader, &value) }
        try value.checkCombination()
        self = value
    }

    /// Writes the value's parameters (those at their default are left out).
    public func write(to writer: inout ParameterWriter) {
        for parameter in Self.bound { parameter.write(self, &writer) }
    }

    /// This value if every parameter is in its range and their combination
    /// holds: what a value made in code must pass, as a read one does.
    public func validated() throws(RecipeError) -> Self {
        for parameter in Self.bound { try parameter.validate(self) }
        try checkCombination()
        return self
    }
}
