import CLibPQ
import CofferFoundation
import Foundation

/// A short-lived connection to a PostgreSQL that Coffer manages credentials *on* (not its own database):
/// rotators and dynamic credentials change roles with it.
///
/// Role statements (`ALTER ROLE … PASSWORD`, `CREATE ROLE`) cannot take bind parameters, so names and
/// values go in quoted by libpq itself (`PQescapeIdentifier`, `PQescapeLiteral`); passwords go in as
/// SCRAM-SHA-256 verifiers computed here (`PQencryptPasswordConn`, what psql's `\password` does), so the
/// cleartext never reaches the server, its logs or `pg_stat_activity`. Errors never carry a statement or a
/// password. Calls block the calling thread for a round trip; the callers are rotation steps, not requests
/// on the hot path.
public final class PostgresTarget {
    private let handle: OpaquePointer

    /// Connects to `url` (a `postgres://` URL or a libpq conninfo string) as `user` with `password`,
    /// which override any the URL holds. Vault's `{{username}}:{{password}}@` template in the URL is
    /// accepted and filled from the two.
    /// - Throws: ``StoreError`` `.connectionFailed` with libpq's reason (it names hosts and users, never the password).
    public init(url: String, user: String?, password: String?) throws {
        let copy = password.map { Array($0.utf8) }
        handle = try copy.withUnsafeBytesIfPresent { try Self.connect(url: url, user: user, password: $0) }
    }

    /// As ``init(url:user:password:)``, with the password read from `passwordBytes` in place (guarded memory,
    /// for a password Coffer keeps sealed): its only copy outside is the C string libpq reads, wiped and freed
    /// once the connection is made (libpq wipes its own copy when the connection is finished).
    public init(url: String, user: String?, passwordBytes: UnsafeRawBufferPointer?) throws {
        handle = try Self.connect(url: url, user: user, password: passwordBytes)
    }

    private static func connect(url: String, user: String?, password passwordBytes: UnsafeRawBufferPointer?) throws -> OpaquePointer {
        let plain = url.replacingOccurrences(of: "{{username}}:{{password}}@", with: "")
            .replacingOccurrences(of: "{{username}}@", with: "")
        var keywords = ["dbname", "connect_timeout"]
        var values = [plain, "5"]
        if let user {
            keywords.append("user")
            values.append(user)
        }
        var password: UnsafeMutablePointer<CChar>?
        if let passwordBytes {
            keywords.append("password")
            password = cString(passwordBytes)
        }
        defer {
            // By its length, not strlen: a NUL inside the password must not leave the rest unwiped.
            if let password {
                explicit_bzero(password, (passwordBytes?.count ?? 0) + 1)
                free(password)
            }
        }
        let connection = withCStrings(keywords) { keywordPointers in
            withCStrings(values, then: password) { valuePointers in PQconnectdbParams(keywordPointers, valuePointers, 1) }
        }
        guard let connection else { throw StoreError(.connectionFailed, "libpq could not allocate a connection") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = String(cString: PQerrorMessage(connection)).trimmingWhitespace()
            PQfinish(connection)
            throw StoreError(.connectionFailed, "cannot connect to the target PostgreSQL (\(reason))")
        }
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        return connection
    }

    deinit { PQfinish(handle) }

    /// `name` as a quoted identifier (`"app"`).
    public func identifier(_ name: String) throws -> String {
        guard let quoted = PQescapeIdentifier(handle, name, name.utf8.count) else { throw failure("cannot quote the role name") }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    /// `value` as a quoted literal (`'2026-11-25 10:00:00+00'`).
    public func literal(_ value: String) throws -> String {
        guard let quoted = PQescapeLiteral(handle, value, value.utf8.count) else { throw failure("cannot quote a value") }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    /// The SCRAM-SHA-256 verifier of `password` for `user`, to put in `PASSWORD '…'` instead of the password.
    public func passwordVerifier(_ password: String, user: String) throws -> String {
        guard let encrypted = PQencryptPasswordConn(handle, password, user, "scram-sha-256") else {
            throw failure("cannot compute the password verifier")
        }
        defer { PQfreemem(encrypted) }
        return String(cString: encrypted)
    }

    /// Runs one statement built from quoted parts (``identifier(_:)``, ``literal(_:)``).
    /// - Throws: ``StoreError`` with the server's message and SQLSTATE, never the statement.
    public func execute(_ statement: String) throws {
        let result = PQexec(handle, statement)
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let message = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "M"))) }.map { String(cString: $0) } ?? "unknown error"
            let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) } ?? "?"
            throw StoreError(.sqlError, "the target PostgreSQL refused the statement: \(message) (SQLSTATE \(state))")
        }
    }

    /// Runs a query built from quoted parts and answers how many rows it returned.
    public func count(_ statement: String) throws -> Int {
        let result = PQexec(handle, statement)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_TUPLES_OK else {
            let message = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "M"))) }.map { String(cString: $0) } ?? "unknown error"
            throw StoreError(.sqlError, "the target PostgreSQL refused the query: \(message)")
        }
        return Int(PQntuples(result))
    }

    private func failure(_ what: String) -> StoreError {
        StoreError(.sqlError, "\(what): \(String(cString: PQerrorMessage(handle)).trimmingWhitespace())")
    }

    /// `strings` as the NULL-terminated array of C strings libpq's `…Params` calls take (also PostgresProbe's).
    /// The C copies are wiped before they are freed: one of them is a password (libpq wipes its own copy
    /// when the connection is finished).
    /// - Parameter last: a C string the caller owns, put after `strings` (a password made by ``cString(_:)``).
    static func withCStrings<R>(
        _ strings: [String], then last: UnsafeMutablePointer<CChar>? = nil,
        _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R
    ) -> R {
        let duplicates = strings.map { strdup($0) }
        defer { duplicates.forEach { wipeAndFree($0) } }
        let pointers: [UnsafePointer<CChar>?] = duplicates.map { UnsafePointer($0) } + (last.map { [UnsafePointer($0)] } ?? []) + [nil]
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// A NUL-terminated C copy of `bytes` (malloc'd; the caller wipes and frees it).
    static func cString(_ bytes: UnsafeRawBufferPointer) -> UnsafeMutablePointer<CChar> {
        let copy = malloc(bytes.count + 1)!.assumingMemoryBound(to: CChar.self)
        if let base = bytes.baseAddress { memcpy(copy, base, bytes.count) }
        copy[bytes.count] = 0
        return copy
    }

    /// Zeroes a C string that `strdup` made, then frees it (`explicit_bzero`, which the compiler may not drop).
    static func wipeAndFree(_ string: UnsafeMutablePointer<CChar>?) {
        guard let string else { return }
        wipe(string)
        free(string)
    }

    /// Zeroes a C string in place, up to its terminator.
    static func wipe(_ string: UnsafeMutablePointer<CChar>) {
        explicit_bzero(string, strlen(string))
    }
}

extension Optional where Wrapped == [UInt8] {
    /// `body` with the array's bytes, or with `nil` when there is no array.
    fileprivate func withUnsafeBytesIfPresent<R>(_ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        guard let self else { return try body(nil) }
        return try self.withUnsafeBytes { try body($0) }
    }
}
