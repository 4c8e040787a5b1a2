import CLibPQ
import CofferFoundation

/// A PostgreSQL connection string checked by libpq itself: a `postgres://` URL or a `key=value` conninfo.
///
/// Whatever libpq accepts works, including `sslmode`, multi-host lists with `target_session_attrs`,
/// and the `PG*` environment variables for what the string leaves out.
public struct PostgresConnectionString: Sendable, CustomStringConvertible {
    /// The string as given, password included: only ever handed to libpq.
    let conninfo: String
    /// The options the string sets, password removed, for logs and health reports.
    public let redacted: String
    /// Whether the string itself holds a password (`postgres://u:pw@h`, `?password=`, `password=` in key=value
    /// form), other than Vault's `{{password}}` template, which names one kept elsewhere.
    public let holdsPassword: Bool

    /// Parses `conninfo` with libpq's own parser.
    /// - Throws: ``StoreError`` `.invalidConfiguration` with libpq's reason; the password is never quoted.
    public init(_ conninfo: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &message) else {
            let reason = message.map { String(cString: $0).trimmingWhitespace() } ?? "not a valid connection string"
            if let message { PQfreemem(message) }
            throw StoreError(
                .invalidConfiguration,
                "malformed PostgreSQL database URL (\(Self.scrub(reason))): use postgres://USER@HOST:PORT/DBNAME or libpq's key=value form"
            )
        }
        defer { PQconninfoFree(options) }
        var shown: [String] = []
        var holdsPassword = false
        var option = options
        while let keyword = option.pointee.keyword {
            let key = String(cString: keyword)
            if let value = option.pointee.val {
                if key != "password" {
                    shown.append("\(key)=\(String(cString: value))")
                } else if value.pointee != 0 {
                    // Compared as bytes in place: the password itself is never made into a Swift string.
                    let template = Array("{{password}}".utf8CString)
                    holdsPassword = !template.withUnsafeBufferPointer { template in
                        (0..<template.count).allSatisfy { value[$0] == template[$0] }
                    }
                }
            }
            option = option.advanced(by: 1)
        }
        self.conninfo = conninfo
        self.redacted = shown.joined(separator: " ")
        self.holdsPassword = holdsPassword
    }

    public var description: String { redacted }

    /// libpq quotes fragments of the input in some parse errors, and a fragment of a URL can hold its
    /// password: keep only the text before the first quote.
    private static func scrub(_ reason: String) -> String {
        guard let quote = reason.firstIndex(of: "\"") else { return reason }
        return String(reason[..<quote]).trimmingWhitespace()
    }
}
