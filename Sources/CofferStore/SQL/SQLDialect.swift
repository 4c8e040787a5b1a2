/// The SQL dialect a ``Database`` speaks. Queries that must differ branch on it, side by side.
public enum SQLDialect: String, Sendable, CaseIterable {
    case sqlite
    case postgres

}
