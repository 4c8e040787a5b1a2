import Foundation

/// A throwaway CA and certificates made at test time with the `openssl` command (Debian's package): a
/// server certificate for 127.0.0.1 and localhost, a second one (for reload tests), and a client certificate.
public struct TestCertificates: Sendable {
    public let folder: String
    public var caFile: String { "\(folder)/ca.pem" }
    public func certificate(_ name: String) -> String { "\(folder)/\(name).pem" }
    public func key(_ name: String) -> String { "\(folder)/\(name).key" }

    /// Makes `ca`, `server`, `server2` and `client` in `folder`.
    public static func make(in folder: String) throws -> TestCertificates {
        let certificates = TestCertificates(folder: folder)
        try certificates.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "2", "-subj", "/CN=Coffer Test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"
        ])
        try certificates.issue(
            "server", commonName: "coffer-test-server-1",
            extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        try certificates.issue(
            "server2", commonName: "coffer-test-server-2",
            extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        try certificates.issue("client", commonName: "coffer-test-client", extensions: "extendedKeyUsage=clientAuth\n")
        return certificates
    }

    private func issue(_ name: String, commonName: String, extensions: String) throws {
        try extensions.write(toFile: "\(folder)/\(name).ext", atomically: true, encoding: .utf8)
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(name).key", "-out", "\(name).csr",
            "-subj", "/CN=\(commonName)"
        ])
        try openssl([
            "x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "\(name).pem",
            "-days", "2", "-extfile", "\(name).ext"
        ])
    }

    private func openssl(_ arguments: [String]) throws {
        let (status, output) = try ExternalCommand.run("/usr/bin/openssl", arguments, in: folder)
        guard status == 0 else {
            throw TestSetupError("openssl \(arguments.first ?? "") failed (Debian's openssl package; make deps installs it): \(output)")
        }
    }
}
