public import CofferAccess
import CofferFoundation
public import CofferStore
public import Foundation
public import Logging
import Synchronization

/// The persistent cache (`cache_entries`): namespaced keys, per-entry TTL with jitter, access tracking,
/// statistics per namespace, and a bounded W-TinyLFU memory tier in front of the table with
/// read-your-writes, one table load per key however many callers miss at once, and — when a statement on
/// the database fails as unavailable — answers from memory alone, with a warning.
///
/// The memory tier is per instance; instances sharing one PostgreSQL see each other's writes within
/// ``CacheSettings/staleness``.
public final class PersistentCache: Sendable {
    let database: any Database
    public let settings: CacheSettings
    private let memory: Locked<MemoryTier>
    private let flights = SingleFlight<CacheKey, StoredEntry?>()
    /// Per namespace: hits, misses, evictions, expirations not yet written.
    let counts = PendingCounts<String>(width: 4)
    private let access = Locked<[CacheKey: (hits: Int64, last: Date)]>([:])
    private let tableLoads = LoadCounter()
    let logger: Logger

    struct StoredEntry: Sendable {
        let bytes: [UInt8]
        let expiresAt: Date?
    }

    public init(database: any Database, settings: CacheSettings = .init(), logger: Logger) {
        self.database = database
        self.settings = settings
        self.memory = Locked(MemoryTier(capacity: settings.memoryBytes))
        self.logger = logger
    }

    /// Table reads made so far (a measure of single-flight and of the memory tier's hit rate).
    public var loads: Int { tableLoads.value.load(ordering: .relaxed) }

    static func check(_ key: CacheKey) throws {
        try Names.check(key.namespace, what: "a cache namespace")
        guard !key.key.isEmpty, key.key.utf8.count <= CacheSettings.maxKeyBytes,
            !key.key.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw SuiteError(.tooLarge, "a cache key is 1 to \(CacheSettings.maxKeyBytes) bytes without control characters")
        }
    }

    // MARK: reading

    /// The value, or nil when absent or expired.
    public func get(_ grant: Grant, _ key: CacheKey) async throws -> CacheValue? {
        try Self.check(key)
        let now = WallClock.now, clock = ContinuousClock.now
        let staleness = settings.staleness
        let cached = memory.withLock { $0.get(key) }
        if let cached {
            if let expiry = cached.expiresAt, expiry <= now {
                memory.withLock { _ = $0.remove(key) }
            } else if !cached.persisted || clock - cached.loadedAt < staleness {
                hit(key, now)
                return CacheValue(bytes: cached.bytes, expiresAt: cached.expiresAt, source: .memory, warning: nil)
            }
        }
        let stored: StoredEntry?
        do {
            stored = try await flights.run(key) { [self] in
                // A caller that missed memory just before the previous flight for this key ended starts a
                // new one; the previous flight has filled the memory tier by then (below), so the fresh
                // value is taken from there and the table is read once.
                if let fresh = memory.withLock({ $0.get(key) }), fresh.persisted,
                    ContinuousClock.now - fresh.loadedAt < staleness
                {
                    return StoredEntry(bytes: fresh.bytes, expiresAt: fresh.expiresAt)
                }
                tableLoads.value.add(1, ordering: .relaxed)
                let loaded = try await database.read { conn in
                    try conn.query(
                        CacheEntryRecord.self,
                        """
                        SELECT \(columns: CacheEntryRecord.Column.self) FROM cache_entries
                        WHERE namespace = \(key.namespace) AND cache_key = \(key.key)
                        """
                    ).first?.entry
                }
                // Remembered before the flight ends, so no caller can miss both the flight and the memory tier.
                if let loaded, loaded.expiresAt.map({ $0 > WallClock.now }) ?? true {
                    remember(key, MemoryValue(bytes: loaded.bytes, expiresAt: loaded.expiresAt, loadedAt: .now, persisted: true))
                }
                return loaded
            }
        } catch let error as StoreError where error.code.isUnavailable {
            guard let cached, cached.expiresAt.map({ $0 > now }) ?? true else { throw error }
            logger.warning(
                "cache read answered from memory: the database is unavailable", metadata: ["coffer.cache.namespace": "\(key.namespace)"])
            hit(key, now)
            return CacheValue(
                bytes: cached.bytes, expiresAt: cached.expiresAt, source: .memory,
                warning: "answered from memory: the database is unavailable, so a newer value may exist")
        }
        guard let stored, stored.expiresAt.map({ $0 > now }) ?? true else {
            memory.withLock { _ = $0.remove(key) }
            counts.add(key.namespace, 1)
            return nil
        }
        hit(key, now)
        return CacheValue(bytes: stored.bytes, expiresAt: stored.expiresAt, source: .table, warning: nil)
    }

    private func hit(_ key: CacheKey, _ now: Date) {
        counts.add(key.namespace, 0)
        access.withLock { access in
            let previous = access[key]
            access[key] = ((previous?.hits ?? 0) + 1, now)
        }
    }

    private func remember(_ key: CacheKey, _ value: MemoryValue) {
        let evicted = memory.withLock { $0.put(key, value) }
        for key in evicted { counts.add(key.namespace, 2) }
    }

    // MARK: writing

    /// Stores a value. `ttl` 0 keeps it until deleted; `jitter` (0–1) takes up to that fraction off the TTL at
    /// random, so entries written together do not all expire together.
    /// - Returns: when it expires, and a warning when the database refused the write and the value lives in
    ///   memory alone (until it expires, is evicted, or the service restarts).
    /// - Throws: ``SuiteError`` `.tooLarge` or `.invalid` (a negative TTL, a jitter outside 0–1).
    public func put(_ grant: Grant, _ key: CacheKey, _ bytes: [UInt8], ttl: Duration = .zero, jitter: Double = 0) async throws -> (
        expiresAt: Date?, warning: String?
    ) {
        try Self.check(key)
        guard bytes.count <= CacheSettings.maxValueBytes else {
            throw SuiteError(.tooLarge, "a cache value is at most \(CacheSettings.maxValueBytes) bytes")
        }
        guard ttl >= .zero else { throw SuiteError(.invalid, "ttl must not be negative (0 keeps the entry until deleted)") }
        guard jitter.isFinite, (0...1).contains(jitter) else { throw SuiteError(.invalid, "jitter must be a fraction from 0 to 1") }
        let now = WallClock.now.roundedToStoredPrecision
        let seconds = Double(ttl.components.seconds) + Double(ttl.components.attoseconds) / 1e18
        let expiresAt =
            seconds > 0 ? now.addingTimeInterval(seconds * (1 - jitter * Double.random(in: 0..<1))).roundedToStoredPrecision : nil
        var warning: String?
        do {
            try await database.transaction { conn in
                try conn.execute(
                    """
                    INSERT INTO cache_namespaces (namespace, warm, hits, misses, evictions, expirations, updated_at)
                    VALUES (\(key.namespace), \(false), 0, 0, 0, 0, \(now)) ON CONFLICT (namespace) DO NOTHING
                    """)
                // The insert decides create vs update even when two writers race: only one of them inserts.
                let inserted = try conn.execute(
                    """
                    INSERT INTO cache_entries (namespace, cache_key, value, expires_at, created_at, updated_at, hits, last_access_at)
                    VALUES (\(key.namespace), \(key.key), \(bytes), \(expiresAt), \(now), \(now), 0, NULL)
                    ON CONFLICT (namespace, cache_key) DO NOTHING
                    """)
                try grant.requireWrite(exists: inserted == 0)
                if inserted == 0 {
                    try conn.execute(
                        """
                        UPDATE cache_entries SET value = \(bytes), expires_at = \(expiresAt), updated_at = \(now)
                        WHERE namespace = \(key.namespace) AND cache_key = \(key.key)
                        """)
                }
            }
        } catch let error as StoreError where error.code.isUnavailable {
            // Whether the entry exists cannot be asked of the database now: writing it needs both rights.
            try grant.require([.create, .update])
            logger.warning(
                "cache write kept in memory only: the database is unavailable", metadata: ["coffer.cache.namespace": "\(key.namespace)"])
            warning = "stored in memory only: the database is unavailable, so the value is not persisted and other instances do not see it"
        }
        remember(key, MemoryValue(bytes: bytes, expiresAt: expiresAt, loadedAt: ContinuousClock.now, persisted: warning == nil))
        return (expiresAt, warning)
    }

    /// Deletes a key. - Returns: whether it was stored.
    @discardableResult
    public func delete(_ grant: Grant, _ key: CacheKey) async throws -> Bool {
        try Self.check(key)
        let inMemory = memory.withLock { $0.remove(key) }
        let removed = try await database.transaction { conn in
            try conn.execute("DELETE FROM cache_entries WHERE namespace = \(key.namespace) AND cache_key = \(key.key)")
        }
        return removed > 0 || inMemory
    }

    // MARK: namespaces

    /// Every namespace that has held an entry.
    public func namespaces(_ grant: Grant) async throws -> [String] {
        try await database.read { conn in
            try conn.query("SELECT namespace FROM cache_namespaces ORDER BY namespace").map { try $0.decode(String.self, at: 0) }
        }
    }

    /// A namespace's entries, bytes and counters (stored plus not yet flushed) and what memory holds of it.
    public func statistics(_ grant: Grant, namespace: String) async throws -> CacheStatistics {
        try Names.check(namespace, what: "a cache namespace")
        let row = try await database.read { conn in
            try conn.query(
                NamespaceCountsRecord.self,
                """
                SELECT n.warm, n.hits, n.misses, n.evictions, n.expirations,
                    (SELECT count(*) FROM cache_entries e WHERE e.namespace = n.namespace) AS entries,
                    (SELECT CAST(coalesce(sum(length(e.value)), 0) AS BIGINT) FROM cache_entries e WHERE e.namespace = n.namespace) AS bytes
                FROM cache_namespaces n WHERE n.namespace = \(namespace)
                """
            ).first
        }
        let pending = counts.peek(namespace)
        let (memoryEntries, memoryBytes) = memory.withLock { ($0.entries(namespace: namespace), $0.bytesByNamespace[namespace] ?? 0) }
        guard let row else {
            guard memoryEntries > 0 || pending.contains(where: { $0 > 0 }) else {
                throw SuiteError(.notFound, "no cache namespace named \(namespace)")
            }
            return CacheStatistics(
                namespace: namespace, entries: 0, bytes: 0, hits: pending[0], misses: pending[1], evictions: pending[2],
                expirations: pending[3], memoryEntries: memoryEntries, memoryBytes: memoryBytes, warm: false)
        }
        return CacheStatistics(
            namespace: namespace, entries: row.entries, bytes: row.bytes, hits: row.hits + pending[0], misses: row.misses + pending[1],
            evictions: row.evictions + pending[2], expirations: row.expirations + pending[3],
            memoryEntries: memoryEntries, memoryBytes: memoryBytes, warm: row.warm)
    }

    /// Marks a namespace warm (loaded into memory at start-up, and now) or not.
    /// - Returns: how many entries were loaded.
    @discardableResult
    public func setWarm(_ grant: Grant, namespace: String, warm: Bool) async throws -> Int {
        try Names.check(namespace, what: "a cache namespace")
        let now = WallClock.now.roundedToStoredPrecision
        _ = try await database.transaction { conn in
            try conn.execute(
                """
                INSERT INTO cache_namespaces (namespace, warm, hits, misses, evictions, expirations, updated_at)
                VALUES (\(namespace), \(warm), 0, 0, 0, 0, \(now)) ON CONFLICT (namespace) DO UPDATE SET warm = excluded.warm,
                updated_at = excluded.updated_at
                """)
        }
        return warm ? try await load(namespace: namespace) : 0
    }

    /// Loads every warm namespace into memory (at start-up), most-read entries first, until memory is full.
    /// - Returns: how many entries were loaded.
    @discardableResult
    public func warmUp(_ grant: Grant) async throws -> Int {
        let warm = try await database.read { conn in
            try conn.query("SELECT namespace FROM cache_namespaces WHERE warm = \(true) ORDER BY namespace").map {
                try $0.decode(String.self, at: 0)
            }
        }
        var loaded = 0
        for namespace in warm { loaded += try await load(namespace: namespace) }
        return loaded
    }

    private func load(namespace: String) async throws -> Int {
        let now = WallClock.now, budget = settings.memoryBytes
        let entries = try await database.read { conn in
            var entries: [(String, StoredEntry)] = []
            var bytes = 0
            try conn.forEachRow(
                """
                SELECT \(columns: CacheEntryRecord.Column.self) FROM cache_entries
                WHERE namespace = \(namespace) AND (expires_at IS NULL OR expires_at > \(now))
                ORDER BY hits DESC, updated_at DESC
                """
            ) { row in
                guard bytes < budget else { return }
                let record = try CacheEntryRecord(row: row)
                bytes += record.entry.bytes.count + 64
                entries.append((record.key, record.entry))
            }
            return entries
        }
        let clock = ContinuousClock.now
        // Least read first, so the most read end up most recent.
        for (key, entry) in entries.reversed() {
            remember(
                CacheKey(namespace: namespace, key: key),
                MemoryValue(bytes: entry.bytes, expiresAt: entry.expiresAt, loadedAt: clock, persisted: true))
        }
        return entries.count
    }

    /// Deletes every entry of a namespace (its counters stay).
    /// - Returns: how many entries were deleted.
    @discardableResult
    public func purge(_ grant: Grant, namespace: String) async throws -> Int {
        try Names.check(namespace, what: "a cache namespace")
        memory.withLock { $0.removeAll(namespace: namespace) }
        return try await database.transaction { conn in try conn.execute("DELETE FROM cache_entries WHERE namespace = \(namespace)") }
    }

    /// Deletes expired entries, at most `batch` per transaction, until none is left.
    /// - Returns: how many were deleted.
    @discardableResult
    public func purgeExpired(_ grant: Grant, batch: Int = 1_000) async throws -> Int {
        var total = 0
        while true {
            let now = WallClock.now
            let removed = try await database.transaction { conn -> [String] in
                let doomed = try conn.query(
                    CacheKey.self,
                    """
                    SELECT \(columns: CacheKey.Column.self) FROM cache_entries
                    WHERE expires_at IS NOT NULL AND expires_at <= \(now) LIMIT \(Int64(batch))
                    """
                ).map { ($0.namespace, $0.key) }
                for (namespace, key) in doomed {
                    try conn.execute(
                        "DELETE FROM cache_entries WHERE namespace = \(namespace) AND cache_key = \(key) AND expires_at <= \(now)")
                }
                return doomed.map(\.0)
            }
            for namespace in removed { counts.add(namespace, 3) }
            total += removed.count
            if removed.count < batch { return total }
        }
    }

    /// Writes the counters and per-entry access counts gathered since the last flush.
    public func flushCounters() async throws {
        let batch = counts.take()
        let touched = access.withLock { access in
            defer { access = [:] }
            return access
        }
        guard !batch.isEmpty || !touched.isEmpty else { return }
        let now = WallClock.now.roundedToStoredPrecision
        do {
            try await database.transaction { conn in
                for (namespace, row) in batch {
                    try conn.execute(
                        """
                        INSERT INTO cache_namespaces (namespace, warm, hits, misses, evictions, expirations, updated_at)
                        VALUES (\(namespace), \(false), \(row[0]), \(row[1]), \(row[2]), \(row[3]), \(now))
                        ON CONFLICT (namespace) DO UPDATE SET hits = cache_namespaces.hits + excluded.hits, misses =
                        cache_namespaces.misses + excluded.misses,
                            evictions = cache_namespaces.evictions + excluded.evictions, expirations =
                            cache_namespaces.expirations + excluded.expirations,
                            updated_at = excluded.updated_at
                        """)
                }
                try conn.executeBatch(
                    "UPDATE cache_entries SET hits = hits + $1, last_access_at = $2 WHERE namespace = $3 AND cache_key = $4",
                    rows: touched.map { key, use in [.int(use.hits), .timestamp(use.last), .text(key.namespace), .text(key.key)] })
            }
        } catch {
            counts.restore(batch)
            access.withLock { access in
                for (key, use) in touched {
                    let current = access[key]
                    access[key] = ((current?.hits ?? 0) + use.hits, max(current?.last ?? use.last, use.last))
                }
            }
            throw error
        }
    }
}

/// Table reads, counted from inside the single-flight loads.
final class LoadCounter: Sendable {
    let value = Atomic<Int>(0)
}
