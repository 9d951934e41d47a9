import Hummingbird
import NIOCore

/// What each route knows of its request beyond the request itself: the
/// connection it came on, so that work for a client who has gone can stop.
public struct CalotypeRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection the request came on.
    let channel: any Channel
    /// Every answer's JSON.
    public var responseEncoder: APIResponseEncoder { APIResponseEncoder() }

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
