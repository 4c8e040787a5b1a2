public import Hummingbird
public import CofferAccess
public import CofferStore
public import NIOCore

/// The request context every Coffer route and middleware sees.
///
/// Its logger carries `hb.request.id`, so every line logged while serving a request names the request.
public struct CofferRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's address as the connection shows it (no proxy header is trusted).
    public let remoteAddress: String
    /// The request path decoded once (``CanonicalPath``), set by ``CanonicalPathRouter`` before routing.
    public var canonicalPath: CofferAccess.CanonicalPath?
    /// Set by the server's consistency middleware on an instance with a read replica: how fresh the standby must
    /// be (the newest `X-Vault-Index` the client presented) for this request's reads to come from it, should
    /// its route only read. `nil`: every read goes to the primary.
    public var replicaRead: ReplicaRead?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress.map(Self.describe) ?? "unknown"
    }

    /// Vault's API takes small JSON bodies; anything larger than this is refused before it is read.
    public var maxUploadSize: Int { 1 << 20 }

    /// `ip` or `[ip]` without the port: the address is what rate limits and CIDR bindings use.
    public static func describe(_ address: SocketAddress) -> String {
        address.ipAddress ?? "\(address)"
    }
}
