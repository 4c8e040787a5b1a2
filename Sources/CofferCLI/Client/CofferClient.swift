import CofferHTTPClient
import Foundation
import NIOSSL

/// The HTTP client every command that talks to a running service uses, as the vault CLI talks to Vault.
///
/// The address comes from `--address` or `COFFER_ADDR`; the token from `COFFER_TOKEN` or a token file
/// (`COFFER_TOKEN_FILE`, default `~/.coffer-token`), never from a flag, which `ps` would show.
struct CofferClient {
    static let defaultAddress = "http://127.0.0.1:8200"

    let baseURL: URL
    let token: String?
    let transport: HTTPTransport
    /// What to say when the server cannot be reached: which server, and what to set.
    var peer = "Coffer"
    var unreachable = "is `coffer serve` running there? Set --address or COFFER_ADDR"

    /// A client of another Vault-API server (`kv import-vault`'s source) with its own token; TLS as for Coffer
    /// (`COFFER_CACERT` and the rest, or `VAULT_CACERT` for the CA).
    init(vaultAddress text: String, token: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw ClientError("malformed address \"\(text)\": use http://HOST:PORT or https://HOST:PORT")
        }
        baseURL = url
        self.token = token
        var environment = environment
        if environment["COFFER_CACERT"] == nil { environment["COFFER_CACERT"] = environment["VAULT_CACERT"] }
        transport = try HTTPTransport.cli(https: scheme == "https", environment: environment)
        peer = "the Vault server"
        unreachable = "is it running there? Check --address"
    }

    /// - Throws: `ClientError` when the address is not an http(s) URL or the token file is unreadable.
    init(address: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let text = address ?? environment["COFFER_ADDR"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultAddress
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw ClientError("malformed address \"\(text)\": use http://HOST:PORT or https://HOST:PORT (--address or COFFER_ADDR)")
        }
        baseURL = url
        token = try Self.token(environment)
        transport = try HTTPTransport.cli(https: scheme == "https", environment: environment)
    }

    private static func token(_ environment: [String: String]) throws -> String? {
        if let token = environment["COFFER_TOKEN"], !token.isEmpty { return token }
        let explicit = environment["COFFER_TOKEN_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        let path = explicit ?? (environment["HOME"].map { "\($0)/.coffer-token" } ?? "")
        guard !path.isEmpty, FileManager.default.fileExists(atPath: path) else {
            if let explicit { throw ClientError("cannot read the token file \(explicit) named by COFFER_TOKEN_FILE") }
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ClientError("cannot read the token file \(path): check its permissions")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    /// An answer: status code and body.
    struct Reply {
        let status: Int
        let body: Data

        /// The `errors` list of a Vault-shaped error body, if there is one.
        var errors: [String] {
            ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["errors"] as? [String] ?? []
        }
    }

    /// Sends one request to `/v1/<path>`.
    func send(
        _ method: String, _ path: String, query: [URLQueryItem] = [], body: Data? = nil, contentType: String = "application/json",
        headers extra: [(String, String)] = [], bodyFile: String? = nil, download: FileHandle? = nil
    ) async throws -> Reply {
        var components = URLComponents(url: baseURL.appendingPathComponent("v1/" + path), resolvingAgainstBaseURL: false)
        if !query.isEmpty { components?.queryItems = query }
        guard let url = components?.url else { throw ClientError("cannot build a URL for \(path)") }
        var headers = [("X-Vault-Request", "true")]
        if let token { headers.append(("X-Vault-Token", token)) }
        if body != nil || bodyFile != nil { headers.append(("Content-Type", contentType)) }
        headers += extra
        do {
            let (status, data) = try await transport.send(
                url, method: method, headers: headers, body: body, bodyFile: bodyFile, download: download)
            return Reply(status: status, body: data)
        } catch let error as ClientError {
            throw error
        } catch HTTPTransport.Failure.bodyFile(let path) {
            throw ClientError("cannot read \(path): check the path")
        } catch let error as NIOSSLError {
            throw ClientError(
                "TLS with \(baseURL.absoluteString) failed (\(error)): set COFFER_CACERT to the CA that signed the server's certificate")
        } catch let error as BoringSSLError {
            throw ClientError(
                """
                TLS with \(baseURL.absoluteString) failed (\(error)): set COFFER_CACERT to the CA that signed the server's \
                certificate, or check the client certificate
                """
            )
        } catch {
            throw ClientError("cannot reach \(peer) at \(baseURL.absoluteString) (\(error)): \(unreachable)", transient: true)
        }
    }
}

extension CofferClient {
    /// Sends `object` as a JSON body.
    func sendJSON(_ method: String, _ path: String, _ object: [String: Any], query: [URLQueryItem] = []) async throws -> Reply {
        try await send(method, path, query: query, body: try JSONSerialization.data(withJSONObject: object))
    }
}

/// A command failure, printed as one `Error:` line (without the usage text, which is for bad arguments).
struct ClientError: Error, CustomStringConvertible {
    let description: String
    /// Whether trying again later may succeed: the server was unreachable, or answered 503 or 429.
    let transient: Bool
    init(_ description: String, transient: Bool = false) {
        self.description = description
        self.transient = transient
    }
}
