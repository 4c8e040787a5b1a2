import CLibPQ
import Foundation

/// A health check's query against a PostgreSQL that is not Coffer's own, run so that whoever wrote the check
/// cannot make Coffer act with more authority than the check's own credentials carry.
///
/// - The URL names only where to connect (`host`, `hostaddr`, `port`, `dbname`, `sslmode`, `sslrootcert`,
///   `application_name`): no user, no password, no `options`, `service` or client certificate.
/// - The credentials are the check's, and only they: `passfile=/dev/null` so no ~/.pgpass answers, the user
///   and password given explicitly so no `PGUSER`/`PGPASSWORD` does, no client certificate or key, and no
///   GSSAPI encryption; once connected, a server that let Coffer in without asking for the password (trust,
///   peer, certificate or Kerberos authentication of the service's own account) is refused before anything runs.
/// - The query is one statement (the extended protocol refuses several), in a `READ ONLY` transaction that is
///   rolled back, under a `statement_timeout`.
/// - Coffer's own database (the same cluster's system identifier and the same database name) is refused.
/// - Errors say what kind of failure it was and its SQLSTATE, never the server's text (which can quote data).
public enum PostgresProbe {
    /// The keywords a check's URL may give.
    public static let urlKeywords: Set<String> = ["host", "hostaddr", "port", "dbname", "sslmode", "sslrootcert", "application_name"]

    /// Which database a connection reached: its cluster's system identifier and the database's name.
    public struct DatabaseIdentity: Sendable, Equatable {
        public let systemIdentifier: String
        public let database: String
    }

    /// Why a probe failed, in words safe to show to whoever may read the check's results.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// The URL's keywords, checked.
    /// - Throws: ``Failure`` naming what is not allowed.
    public static func parse(url: String) throws -> [(String, String)] {
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
            throw Failure(description: "url must be postgres://HOST[:PORT]/DATABASE[?sslmode=...]")
        }
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &error) else {
            defer { if let error { PQfreemem(error) } }
            throw Failure(description: "url does not parse as a libpq URL")
        }
        defer { PQconninfoFree(options) }
        var pairs: [(String, String)] = []
        var index = 0
        while let keyword = options[index].keyword {
            defer { index += 1 }
            guard let value = options[index].val else { continue }
            let name = String(cString: keyword)
            guard urlKeywords.contains(name) else {
                throw Failure(
                    description: name == "user" || name == "password"
                        ? "url must not name a user or password: the check's credentials come from its credentials secret"
                        : "url may not set \(name); it may set only \(urlKeywords.sorted().joined(separator: ", "))")
            }
            pairs.append((name, String(cString: value)))
        }
        guard pairs.contains(where: { ($0.0 == "host" || $0.0 == "hostaddr") && !$0.1.isEmpty }) else {
            throw Failure(description: "url must name the host to check")
        }
        return pairs
    }

    /// Runs `query` as described above and answers how many rows it returned.
    /// - Parameter forbidden: Coffer's own database, which a check may never reach (nil on SQLite).
    /// - Throws: ``Failure``.
    public static func run(
        url: String, user: String, password: String, query: String, timeoutSeconds: Int,
        forbidden: DatabaseIdentity?
    ) throws -> Int {
        guard !user.isEmpty, !password.isEmpty else { throw Failure(description: "the credentials secret needs a username and a password") }
        var keywords: [String] = [], values: [String] = []
        for (keyword, value) in try parse(url: url) {
            keywords.append(keyword)
            values.append(value)
        }
        let isolation = [
            ("user", user), ("password", password), ("passfile", "/dev/null"),
            // A path under /dev/null cannot exist: libpq then sends no client certificate.
            ("sslcert", "/dev/null/none"), ("sslkey", "/dev/null/none"),
            ("gssencmode", "disable"), ("connect_timeout", String(max(2, timeoutSeconds)))
        ]
        for (keyword, value) in isolation {
            keywords.append(keyword)
            values.append(value)
        }
        let connection = PostgresTarget.withCStrings(keywords) { keys in
            PostgresTarget.withCStrings(values) { vals in PQconnectdbParams(keys, vals, 0) }
        }
        guard let connection else { throw Failure(description: "libpq could not allocate a connection") }
        defer { PQfinish(connection) }
        guard PQstatus(connection) == CONNECTION_OK else {
            throw Failure(
                description: "cannot connect as \(user) (check the host, port, database, credentials and the server's pg_hba.conf)")
        }
        guard PQconnectionUsedPassword(connection) == 1 else {
            throw Failure(
                description:
                    """
                    the server let Coffer in without the check's password; a health check runs only with the credentials it names \
                    (use password or scram-sha-256 authentication for \(user))
                    """
            )
        }
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        try command(connection, "BEGIN READ ONLY")
        try command(connection, "SET LOCAL statement_timeout = \(timeoutSeconds * 1000)")
        if let forbidden {
            let reached = try identity(connection)
            guard reached != forbidden else {
                throw Failure(description: "the check points at Coffer's own database; a health check may not reach it")
            }
        }
        let result = PQexecParams(connection, query, 0, nil, nil, nil, nil, 0)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_TUPLES_OK || PQresultStatus(result) == PGRES_COMMAND_OK else {
            throw failure(result, connection)
        }
        let rows = Int(PQntuples(result))
        _ = PQexec(connection, "ROLLBACK").map { PQclear($0) }
        return rows
    }

    /// The identity of the database `connection` reached.
    static func identity(_ connection: OpaquePointer) throws -> DatabaseIdentity {
        let result = PQexec(connection, "SELECT system_identifier::text, current_database() FROM pg_control_system()")
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_TUPLES_OK, PQntuples(result) == 1 else { throw failure(result, connection) }
        return DatabaseIdentity(
            systemIdentifier: String(cString: PQgetvalue(result, 0, 0)), database: String(cString: PQgetvalue(result, 0, 1)))
    }

    /// The identity of Coffer's own database, through one of its connections.
    public static func identity(of connection: any SQLConnection) throws -> DatabaseIdentity? {
        guard let row = try connection.queryFirst("SELECT system_identifier::text, current_database() FROM pg_control_system()") else {
            return nil
        }
        return DatabaseIdentity(systemIdentifier: try row.decode(String.self, at: 0), database: try row.decode(String.self, at: 1))
    }

    private static func command(_ connection: OpaquePointer, _ text: String) throws {
        let result = PQexec(connection, text)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw failure(result, connection) }
    }

    /// The kind of failure and its SQLSTATE; the server's message is left out.
    private static func failure(_ result: OpaquePointer?, _ connection: OpaquePointer) -> Failure {
        let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) }
        switch state {
        case "25006"?: return Failure(description: "the query tried to write (SQLSTATE 25006); checks run read-only")
        case "57014"?: return Failure(description: "the query ran past the check's timeout (SQLSTATE 57014)")
        case "42601"?: return Failure(description: "the query is not one valid statement (SQLSTATE 42601)")
        case let state?: return Failure(description: "the query failed (SQLSTATE \(state))")
        case nil: return Failure(description: PQstatus(connection) == CONNECTION_OK ? "the query failed" : "the connection was lost")
        }
    }

}
