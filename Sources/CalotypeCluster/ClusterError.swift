/// What goes wrong in cluster mode, typed so that callers can tell a
/// database to retry from a database to refuse.
public enum ClusterError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database's schema is newer than this build: run the newer build's nodes.
    case schemaTooNew(found: Int, known: Int)
    /// `CALOTYPE_DATABASE_URL` is not a postgres:// URL.
    case invalidDatabaseURL(String)
    /// The database did not answer within the time given.
    case unreachable(Duration)

    public var description: String {
        switch self {
        case .schemaTooNew(let found, let known):
            "the database's schema is version \(found), newer than this build's \(known): upgrade this node"
        case .invalidDatabaseURL(let why): "CALOTYPE_DATABASE_URL: \(why)"
        case .unreachable(let timeout): "the database did not answer within \(timeout)"
        }
    }
}
