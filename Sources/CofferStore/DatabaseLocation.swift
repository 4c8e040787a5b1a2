import CofferFoundation
public import Logging

/// Where the database is, as given by `--database` or `COFFER_DATABASE_URL`.
///
/// - `sqlite:PATH` (or `sqlite://PATH`): the embedded backend, the default being `sqlite:./coffer-data/coffer.db`.
/// - `postgres://…`, `postgresql://…` or a libpq `key=value` conninfo: PostgreSQL.
public enum DatabaseLocation: Sendable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresConnectionString)

    /// The embedded default.
    public static let defaultURL = "sqlite:./coffer-data/coffer.db"

    /// Parses a database URL.
    /// - Throws: ``StoreError`` `.invalidConfiguration` saying which forms are accepted.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingWhitespace()
        if trimmed.hasPrefix("sqlite:") {
            var path = String(trimmed.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty, !path.hasSuffix("/") else {
                throw StoreError(
                    .invalidConfiguration, "sqlite: needs a file path, for example sqlite:./coffer-data/coffer.db")
            }
            self = .sqlite(path: path)
        } else if trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://") || trimmed.contains("=") {
            self = .postgres(try PostgresConnectionString(trimmed))
        } else {
            throw StoreError(
                .invalidConfiguration,
                "unrecognised database URL: use sqlite:PATH, postgres://USER@HOST:PORT/DBNAME or a libpq key=value conninfo"
            )
        }
    }

    /// The location for logs and health reports, without a password.
    public var description: String {
        switch self {
        case .sqlite(let path): "sqlite:\(path)"
        case .postgres(let connectionString): "postgres (\(connectionString.redacted))"
        }
    }

    /// Opens the database this location names; `postgres` configures a PostgreSQL pool (pool size, prepared statements).
    public func open(logger: Logger, postgres: PostgresDatabase.Configuration = .init()) async throws -> any Database {
        switch self {
        case .sqlite(let path): try await SQLiteDatabase(path: path, logger: logger)
        case .postgres(let connectionString): try await PostgresDatabase(connectionString, configuration: postgres, logger: logger)
        }
    }
}
