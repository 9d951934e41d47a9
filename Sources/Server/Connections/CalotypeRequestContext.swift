import Hummingbird
import HummingbirdAuth
import NIOCore

/// What each route knows of its request beyond the request itself: the
/// connection it came on, so that work for a client who has gone can stop,
/// and the tenant its key speaks for.
public struct CalotypeRequestContext: AuthRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection the request came on.
    let channel: any Channel
    /// Set by `APIKeyAuthenticator` on the routes that need a key (every
    /// route on an open server, as `Tenant.open`); nil elsewhere.
    public var identity: Tenant?
    /// Every answer's JSON.
    public var responseEncoder: APIResponseEncoder { APIResponseEncoder() }

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
