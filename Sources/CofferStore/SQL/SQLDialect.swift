/// The SQL dialect a ``Database`` speaks. Queries that must differ branch on it, side by side.
public enum SQLDialect: String, Sendable, CaseIterable {
    case sqlite
    case postgres

    /// The placeholder for the bind at zero-based `index`: `?1` for SQLite, `$1` for PostgreSQL.
    func placeholder(_ index: Int) -> String {
        switch self {
        case .sqlite: "?\(index + 1)"
        case .postgres: "$\(index + 1)"
        }
    }
}
