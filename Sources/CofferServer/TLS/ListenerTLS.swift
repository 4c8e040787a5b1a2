import CofferFoundation
import CofferHTTP
import CofferSystem
import Foundation
import Logging
import NIOSSL
import ServiceLifecycle

/// The listener's TLS settings, loaded from PEM files and reloaded on SIGHUP: each new connection takes the
/// context current when it arrives, so a reload changes what new clients see without dropping open ones.
///
/// TLS 1.2 at least (1.3 preferred: NIOSSL offers it first). With a client CA, a client must present a
/// certificate that CA signed (mutual TLS), checked during the handshake.
public final class ListenerTLS: Sendable {
    let certificateFile: String
    let keyFile: String
    let clientCAFile: String?
    private let context: Locked<NIOSSLContext>

    /// - Throws: ``ConfigurationError`` naming the file that cannot be read or used.
    public init(certificateFile: String, keyFile: String, clientCAFile: String?) throws {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
        context = Locked(try Self.load(certificateFile: certificateFile, keyFile: keyFile, clientCAFile: clientCAFile))
    }

    /// The context for a new connection.
    var current: NIOSSLContext { context.withLock { $0 } }

    /// Reads the files again; on failure the current context stays and the error says why.
    public func reload() throws {
        let fresh = try Self.load(certificateFile: certificateFile, keyFile: keyFile, clientCAFile: clientCAFile)
        context.withLock { $0 = fresh }
    }

    static func load(certificateFile: String, keyFile: String, clientCAFile: String?) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw ConfigurationError(
                "cannot read the TLS certificate chain \(certificateFile) (\(error)): give a PEM file, leaf certificate first")
        }
        guard !chain.isEmpty else { throw ConfigurationError("\(certificateFile) holds no PEM certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw ConfigurationError("cannot read the TLS private key \(keyFile): give an unencrypted PEM key that matches the certificate")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        if let clientCAFile {
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(clientCAFile))
            } catch {
                throw ConfigurationError("cannot read the client CA bundle \(clientCAFile) (\(error)): give a PEM file")
            }
            configuration.certificateVerification = .noHostnameVerification
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw ConfigurationError("the TLS certificate \(certificateFile) and key \(keyFile) cannot be used together (\(error))")
        }
    }
}

/// Reloads the listener's certificate and key on SIGHUP (as Vault does), logging the outcome.
struct TLSReloadService: Service {
    let tls: ListenerTLS
    let logger: Logger

    func run() async throws {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
        source.setEventHandler { continuation.yield() }
        source.resume()
        defer { source.cancel() }
        await withGracefulShutdownHandler {
            for await _ in stream {
                do {
                    try tls.reload()
                    logger.notice("TLS certificate reloaded", metadata: ["coffer.tls.certificate": "\(tls.certificateFile)"])
                } catch {
                    logger.error("TLS reload failed; the previous certificate stays in use", metadata: ["coffer.error": "\(error)"])
                }
            }
        } onGracefulShutdown: {
            continuation.finish()
        }
    }
}
