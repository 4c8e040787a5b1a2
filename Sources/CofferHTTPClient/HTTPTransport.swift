public import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP/1.1 request per connection over NIO, with TLS verified against the system trust store or a CA
/// file, an optional client certificate, and verification off only when asked. Used by the CLI to reach the
/// service and by rotators to reach the systems whose keys they rotate.
///
/// Foundation's URLSession on Linux cannot trust a private CA or present a client certificate, which is what
/// a vault and its targets need, so Coffer speaks HTTP itself.
public struct HTTPTransport: Sendable {
    /// How the TLS side checks the server and presents itself.
    public struct TLS: Sendable {
        /// A PEM bundle of the CAs to trust instead of the system's.
        public var caFile: String?
        /// A PEM client certificate chain and its key, for mutual TLS.
        public var clientCertificateFile: String?
        public var clientKeyFile: String?
        /// Off only for development: any certificate is accepted.
        public var verify: Bool

        public init(caFile: String? = nil, clientCertificateFile: String? = nil, clientKeyFile: String? = nil, verify: Bool = true) {
            self.caFile = caFile
            self.clientCertificateFile = clientCertificateFile
            self.clientKeyFile = clientKeyFile
            self.verify = verify
        }
    }

    /// Why a request got no answer, or the transport could not be set up.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// The CA file cannot be read.
        case caFile(String)
        /// The client certificate or key cannot be read.
        case clientCertificate(String)
        /// NIOSSL refused the configuration.
        case tlsSetup(String)
        /// The body file cannot be read.
        case bodyFile(String)
        /// No complete answer within the timeout.
        case timedOut(Duration)
        /// The connection ended before the answer did.
        case closedEarly
        /// The address has no host.
        case noHost(String)

        public var description: String {
            switch self {
            case .caFile(let path): "cannot read the CA file \(path): give a PEM file"
            case .clientCertificate(let path): "cannot read the client certificate or key \(path): give PEM files"
            case .tlsSetup(let reason): "cannot set up TLS: \(reason)"
            case .bodyFile(let path): "cannot read \(path): check the path"
            case .timedOut(let timeout): "no answer within \(timeout)"
            case .closedEarly: "the connection closed before an answer came"
            case .noHost(let url): "the address \(url) has no host"
            }
        }
    }

    let tls: NIOSSLContext?

    /// A transport for `http` (`tls` nil) or `https` addresses.
    /// - Throws: ``Failure`` when a file cannot be read or NIOSSL refuses the settings.
    public init(tls settings: TLS?) throws(Failure) {
        guard let settings else {
            tls = nil
            return
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile = settings.caFile {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw .caFile(caFile)
            }
        }
        if !settings.verify { configuration.certificateVerification = .none }
        if let certificate = settings.clientCertificateFile {
            guard let key = settings.clientKeyFile else { throw .clientCertificate(certificate) }
            do {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } catch {
                throw .clientCertificate(certificate)
            }
        }
        do {
            tls = try NIOSSLContext(configuration: configuration)
        } catch {
            throw .tlsSetup("\(error)")
        }
    }

    /// Sends one request and reads the whole answer.
    /// - Parameters:
    ///   - bodyFile: a file sent as the body in chunks, never whole in memory (a model artifact).
    ///   - download: where a 200 answer's body goes, chunk by chunk, instead of into the returned data.
    ///   - timeout: for the whole exchange, connecting included (the connection alone has at most 10 s).
    /// - Throws: ``Failure``, NIO's connection errors, or NIOSSL's handshake errors.
    public func send(
        _ url: URL, method: String, headers: [(String, String)], body: Data?, bodyFile: String? = nil,
        download: FileHandle? = nil, timeout: Duration? = nil
    ) async throws -> (status: Int, body: Data) {
        guard let host = url.host else { throw Failure.noHost(url.absoluteString) }
        let port = url.port ?? (tls == nil ? 80 : 443)
        let fileSize = try bodyFile.map { path -> Int in
            guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber else {
                throw Failure.bodyFile(path)
            }
            return size.intValue
        }
        let collector = ResponseCollector(download: download)
        let tls = tls
        let isAddress = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        let connectTimeout = min(timeout ?? .seconds(10), .seconds(10))
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(TimeAmount(connectTimeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls {
                            // An IP address is checked against the certificate's IP entries; a name also goes out as SNI.
                            try channel.pipeline.syncOperations.addHandler(
                                try NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : host))
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(collector)
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            // No channel ever held the collector, so nothing else completes its promise (NIO traps on a
            // promise dropped unfulfilled, in debug builds).
            collector.result.fail(error)
            throw error
        }
        // The whole exchange is bounded: at the deadline the answer fails and the connection closes.
        let deadline = timeout.map { timeout in
            channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                collector.result.fail(Failure.timedOut(timeout))
                channel.close(promise: nil)
            }
        }
        defer { deadline?.cancel() }
        do {
            return try await exchange(
                on: channel, url: url, host: host, method: method, headers: headers, body: body, bodyFile: bodyFile,
                length: fileSize ?? body?.count ?? 0, collector: collector)
        } catch {
            // Closing ends the channel, whose channelInactive fails the collector's promise if nothing did.
            try? await channel.close().get()
            throw error
        }
    }

    /// Writes the request on a connected channel and awaits the collector's answer.
    private func exchange(
        on channel: any Channel, url: URL, host: String, method: String, headers: [(String, String)], body: Data?,
        bodyFile: String?, length: Int, collector: ResponseCollector
    ) async throws -> (status: Int, body: Data) {
        // As sent: still percent-encoded (URL.path would decode it).
        let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
        let path = components?.percentEncodedPath ?? "/"
        let target = (path.isEmpty ? "/" : path) + (components?.percentEncodedQuery.map { "?" + $0 } ?? "")
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: target)
        head.headers.add(name: "Host", value: url.port.map { "\(host):\($0)" } ?? host)
        head.headers.add(name: "Connection", value: "close")
        head.headers.add(name: "Content-Length", value: String(length))
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body, !body.isEmpty { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil) }
        if let bodyFile, let file = FileHandle(forReadingAtPath: bodyFile) {
            defer { try? file.close() }
            // Each chunk is flushed before the next is read: memory holds one chunk, whatever the file's size.
            while let chunk = try file.read(upToCount: 256 * 1024), !chunk.isEmpty {
                do {
                    try await channel.writeAndFlush(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: chunk)))).get()
                } catch {
                    break // the server answered early (a refusal): its answer is read below
                }
            }
        }
        // A failed handshake closes the channel under the writes: the collector holds the reason (TLS), so
        // that is what is awaited and reported, not the write's "closed channel".
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let answer = try await collector.result.futureResult.get()
        try? await channel.close().get()
        return answer
    }
}

/// Gathers one response; fails the request when the connection ends first (a TLS refusal, a reset).
final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked Sendable: used only on its channel's event loop; the promise is thread-safe.
    typealias InboundIn = HTTPClientResponsePart
    let result: EventLoopPromise<(status: Int, body: Data)>
    private var status = 0
    private var body = Data()
    private let download: FileHandle?

    init(download: FileHandle? = nil) {
        result = MultiThreadedEventLoopGroup.singleton.next().makePromise()
        self.download = download
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body(var buffer):
            let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
            if status == 200, let download {
                do { try download.write(contentsOf: bytes) } catch {
                    errorCaught(context: context, error: error)
                }
            } else {
                body.append(contentsOf: bytes)
            }
        case .end: result.succeed((status, body))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        result.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        result.fail(HTTPTransport.Failure.closedEarly)
        context.fireChannelInactive()
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
