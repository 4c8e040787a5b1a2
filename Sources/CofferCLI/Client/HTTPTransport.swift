import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP/1.1 request per connection over NIO, with TLS verified against the system trust store or a CA
/// file (`COFFER_CACERT`), an optional client certificate (`COFFER_CLIENT_CERT` / `COFFER_CLIENT_KEY`),
/// and verification off only when asked (`COFFER_SKIP_VERIFY`, for development).
///
/// Foundation's URLSession on Linux cannot trust a private CA or present a client certificate, which
/// is what a vault's clients need, so the CLI speaks HTTP itself.
struct HTTPTransport {
    let tls: NIOSSLContext?

    /// The TLS settings from the environment, for an `https` address.
    init(https: Bool, environment: [String: String]) throws {
        guard https else {
            tls = nil
            return
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile = environment["COFFER_CACERT"].flatMap({ $0.isEmpty ? nil : $0 }) {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            } catch {
                throw ClientError("cannot read the CA file \(caFile) named by COFFER_CACERT: give a PEM file")
            }
        }
        if ["1", "true"].contains(environment["COFFER_SKIP_VERIFY"]?.lowercased() ?? "") {
            configuration.certificateVerification = .none
        }
        if let certificate = environment["COFFER_CLIENT_CERT"].flatMap({ $0.isEmpty ? nil : $0 }) {
            guard let key = environment["COFFER_CLIENT_KEY"].flatMap({ $0.isEmpty ? nil : $0 }) else {
                throw ClientError("COFFER_CLIENT_CERT needs COFFER_CLIENT_KEY (the PEM private key of the client certificate)")
            }
            do {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } catch {
                throw ClientError("cannot read the client certificate \(certificate) or key \(key): give PEM files")
            }
        }
        do {
            tls = try NIOSSLContext(configuration: configuration)
        } catch {
            throw ClientError("cannot set up TLS: \(error)")
        }
    }

    /// Sends one request and reads the whole answer.
    /// - Parameters:
    ///   - bodyFile: a file sent as the body in chunks, never whole in memory (a model artifact).
    ///   - download: where a 200 answer's body goes, chunk by chunk, instead of into the returned data.
    func send(
        _ url: URL, method: String, headers: [(String, String)], body: Data?, bodyFile: String? = nil,
        download: FileHandle? = nil
    ) async throws -> (status: Int, body: Data) {
        guard let host = url.host else { throw ClientError("the address \(url) has no host") }
        let port = url.port ?? (tls == nil ? 80 : 443)
        let fileSize = try bodyFile.map { path -> Int in
            guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber else {
                throw ClientError("cannot read \(path): check the path")
            }
            return size.intValue
        }
        let collector = ResponseCollector(download: download)
        let tls = tls
        let isAddress = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
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
                    errorCaught(context: context, error: ClientError("cannot write the download: \(error)"))
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
        result.fail(ClientError("the connection closed before an answer came"))
        context.fireChannelInactive()
    }
}
