public import CofferStore
import Foundation

// The cache's rows as read: one record per table, its columns named once and read by position.

/// A `cache_entries` row: a key's value and expiry.
struct CacheEntryRecord: SQLRowDecodable {
    let key: String
    let entry: PersistentCache.StoredEntry

    /// The columns of `cache_entries` an entry is read from.
    enum Column: String, SQLColumn { case key = "cache_key", value, expiresAt = "expires_at" }

    init(row: SQLRow) throws {
        key = try row.decode(Column.key)
        entry = PersistentCache.StoredEntry(bytes: try row.decode(Column.value), expiresAt: try row.decode(Column.expiresAt))
    }
}

/// A `cache_namespaces` row with its entries counted (the statistics query).
struct NamespaceCountsRecord: SQLRecord {
    let warm: Bool
    let hits: Int64
    let misses: Int64
    let evictions: Int64
    let expirations: Int64
    let entries: Int64
    let bytes: Int64

    /// The statistics query's select list, in order: the namespace's columns, then two aggregates.
    enum Column: String, SQLColumn, CodingKey { case warm, hits, misses, evictions, expirations, entries, bytes }
    typealias CodingKeys = Column
}

/// A `cache_entries` row's key.
extension CacheKey: SQLRowDecodable {
    /// The columns of `cache_entries` that name an entry.
    enum Column: String, SQLColumn { case namespace, key = "cache_key" }

    public init(row: SQLRow) throws {
        self.init(namespace: try row.decode(Column.namespace), key: try row.decode(Column.key))
    }
}
