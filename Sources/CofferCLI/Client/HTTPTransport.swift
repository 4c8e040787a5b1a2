import CofferHTTPClient
import Foundation

extension HTTPTransport {
    /// The CLI's transport: for an `https` address, TLS verified against the system trust store or a CA file
    /// (`COFFER_CACERT`), an optional client certificate (`COFFER_CLIENT_CERT` / `COFFER_CLIENT_KEY`), and
    /// verification off only when asked (`COFFER_SKIP_VERIFY`, for development).
    /// - Throws: ``ClientError`` naming the variable to fix.
    static func cli(https: Bool, environment: [String: String]) throws -> HTTPTransport {
        func value(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        guard https else { return try HTTPTransport(tls: nil) }
        let certificate = value("COFFER_CLIENT_CERT")
        if certificate != nil, value("COFFER_CLIENT_KEY") == nil {
            throw ClientError("COFFER_CLIENT_CERT needs COFFER_CLIENT_KEY (the PEM private key of the client certificate)")
        }
        let settings = HTTPTransport.TLS(
            caFile: value("COFFER_CACERT"), clientCertificateFile: certificate, clientKeyFile: value("COFFER_CLIENT_KEY"),
            verify: !["1", "true"].contains(environment["COFFER_SKIP_VERIFY"]?.lowercased() ?? ""))
        do {
            return try HTTPTransport(tls: settings)
        } catch .caFile(let path) {
            throw ClientError("cannot read the CA file \(path) named by COFFER_CACERT: give a PEM file")
        } catch .clientCertificate(let path) {
            throw ClientError(
                "cannot read the client certificate \(path) or its key (COFFER_CLIENT_CERT, COFFER_CLIENT_KEY): give PEM files")
        } catch {
            throw ClientError("\(error)")
        }
    }
}
