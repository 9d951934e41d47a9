/// Where a batch by reference may write its results (`"destination":
/// "s3://out/thumbs/"`), as the server knows it: the composition root
/// gives the implementation (an allow-list over S3 sinks); with none, a
/// batch may name no destination.
public protocol ResultDestinations: Sendable {
    /// The sink that stores results under `destination`, or why it may not.
    func sink(for destination: String) throws(DestinationRefusal) -> any ResultSink
}

/// Why a destination is refused (`destination_not_allowed`, 403).
public struct DestinationRefusal: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
