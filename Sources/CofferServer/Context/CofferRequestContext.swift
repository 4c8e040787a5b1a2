public import Hummingbird

/// The request context every Coffer route and middleware sees.
///
/// Its logger carries `hb.request.id`, so every line logged while serving a request names the request.
public struct CofferRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// Vault's API takes small JSON bodies; anything larger than this is refused before it is read.
    public var maxUploadSize: Int { 1 << 20 }
}
