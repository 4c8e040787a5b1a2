import CofferHTTP
import CofferSystem
import HTTPTypes
public import HummingbirdCore
public import Logging
public import NIOCore
public import NIOHTTPTypes
import NIOSSL

/// Hummingbird's HTTP/1 channel, plus Vault's `LIST` method.
///
/// Vault clients (hvac by default, the vault CLI) list with the HTTP method `LIST`, which NIO's HTTP parser
/// (llhttp) does not know: it answers 400 and closes the connection before any route sees the request.
/// So the first bytes of each request are looked at before the parser: `LIST ` becomes `LOCK ` (a method
/// llhttp knows, of the same length, so nothing else moves), and after parsing the request head is given
/// back its `LIST` method. Only a request that starts a read is rewritten (a `LIST` pipelined behind another
/// request in the same read still gets llhttp's 400); hvac and curl send one request at a time.
public struct VaultHTTP1Channel: HTTPChannelHandler {
    public typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    public let responder: HTTPChannelHandler.Responder
    let configuration: HTTP1Channel.Configuration
    /// TLS in front of HTTP when set: each connection takes the context current when it arrives.
    let tls: ListenerTLS?

    public init(
        responder: @escaping HTTPChannelHandler.Responder, configuration: HTTP1Channel.Configuration = .init(), tls: ListenerTLS? = nil
    ) {
        self.responder = responder
        self.configuration = configuration
        self.tls = tls
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let state = ListMethodState()
        do {
            if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.current)) }
            try channel.pipeline.syncOperations.addHandler(ListMethodRewriter(state: state))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        var configuration = configuration
        let extra = configuration.additionalChannelHandlers
        configuration.additionalChannelHandlers = { [ListMethodRestorer(state: state)] + extra() }
        return HTTP1Channel(responder: responder, configuration: configuration).setup(channel: channel, logger: logger)
    }

    public func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 with Vault's `LIST` method (``VaultHTTP1Channel``).
    public static func vaultHTTP1(tls: ListenerTLS? = nil) -> HTTPServerBuilder {
        .init { responder in VaultHTTP1Channel(responder: responder, tls: tls) }
    }
}

/// Per connection, on its event loop only: whether the next inbound bytes start a request, and whether the
/// request being parsed was a `LIST`.
final class ListMethodState: @unchecked Sendable {
    // @unchecked Sendable: touched only by the two handlers of one channel, on that channel's event loop.
    var atRequestStart = true
    var rewroteList = false
}

/// Before the HTTP parser: `LIST ` at the start of a request becomes `LOCK `.
final class ListMethodRewriter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    let state: ListMethodState

    init(state: ListMethodState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if state.atRequestStart, buffer.readableBytes > 0 {
            state.atRequestStart = false
            if buffer.readableBytesView.starts(with: "LIST ".utf8) {
                buffer.setBytes(Array("LOCK".utf8), at: buffer.readerIndex)
                state.rewroteList = true
            }
        }
        context.fireChannelRead(wrapInboundOut(buffer))
    }
}

/// After the HTTP parser: a rewritten request gets `LIST` back; the end of a request marks the next start.
final class ListMethodRestorer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    let state: ListMethodState
    static let list = HTTPRequest.Method("LIST") ?? .get

    init(state: ListMethodState) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var part = unwrapInboundIn(data)
        switch part {
        case .head(var head):
            if state.rewroteList, head.method.rawValue == "LOCK" {
                head.method = Self.list
                part = .head(head)
            }
            state.rewroteList = false
        case .end:
            state.atRequestStart = true
        case .body:
            break
        }
        context.fireChannelRead(wrapInboundOut(part))
    }
}
