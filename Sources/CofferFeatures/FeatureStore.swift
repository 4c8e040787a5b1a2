public import CofferAccess
import CofferFoundation
public import CofferStore
public import Foundation

/// The feature cache (`feature_cache`): values per entity, feature set and feature, with event and write
/// times; the set's TTL enforced on every read; batch reads of the latest values, as-of reads that never
/// see a value written or true after the time asked, histories, statistics, and pruning by age.
public final class FeatureStore: Sendable {
    let database: any Database
    let counts = PendingCounts<String>(width: 3)
    /// Rows a write may carry, entities a read may ask for.
    public static let maxWriteRows = 10_000, maxReadEntities = 1_000
    /// How far ahead of now an event time may be (clock skew).
    public static let futureTolerance: TimeInterval = 300

    public init(database: any Database) {
        self.database = database
    }

    // MARK: sets

    /// Creates or replaces a feature set's definition (the values stay).
    /// - Throws: ``SuiteError`` `.invalid` for a bad name, a negative TTL or retention, or changing the value type of a
    ///   set that holds values.
    public func define(_ grant: Grant, _ set: FeatureSet) async throws {
        try Names.check(set.name, what: "a feature set name")
        for feature in set.features { try Names.check(feature, what: "a feature name") }
        guard set.ttl >= 0, set.retention >= 0 else {
            throw SuiteError(.invalid, "ttl and retention must be zero (never) or a positive duration")
        }
        let features = try JSONText.encode(set.features)
        try await database.transaction { conn in
            let now = WallClock.now.roundedToStoredPrecision
            let type = try conn.queryScalar(String.self, "SELECT value_type FROM feature_sets WHERE name = \(set.name)")
            // The insert decides create vs update even when two writers race: only one of them inserts.
            let inserted =
                type == nil
                ? try conn.execute(
                    """
                    INSERT INTO feature_sets (name, value_type, ttl_seconds, retention_seconds, features, description,
                    created_at, updated_at)
                    VALUES (\(set.name), \(set.valueType.rawValue), \(set.ttl), \(set.retention), \(features),
                    \(set.description), \(now), \(now))
                    ON CONFLICT (name) DO NOTHING
                    """) : 0
            try grant.requireWrite(exists: inserted == 0)
            guard inserted == 0 else { return }
            if let type, type != set.valueType.rawValue,
                try conn.queryFirst("SELECT 1 FROM feature_cache WHERE feature_set = \(set.name) LIMIT 1") != nil
            {
                throw SuiteError(
                    .conflict, "feature set \(set.name) holds \(type) values: its value type cannot change while it holds values")
            }
            try conn.execute(
                """
                UPDATE feature_sets SET value_type = \(set.valueType.rawValue), ttl_seconds = \(set.ttl), retention_seconds =
                \(set.retention),
                    features = \(features), description = \(set.description), updated_at = \(now)
                WHERE name = \(set.name)
                """)
        }
    }

    /// A feature set's definition.
    /// - Throws: ``SuiteError`` `.notFound`.
    public func set(_ grant: Grant, _ name: String) async throws -> FeatureSet {
        try await database.read { conn in try Self.set(conn, name) }
    }

    /// Every feature set's name.
    public func sets(_ grant: Grant) async throws -> [String] {
        try await database.read { conn in
            try conn.query("SELECT name FROM feature_sets ORDER BY name").map { try $0.decode(String.self, at: 0) }
        }
    }

    /// Deletes a feature set and all its values.
    public func delete(_ grant: Grant, set name: String) async throws {
        try await database.transaction { conn in
            _ = try Self.set(conn, name)
            try conn.execute("DELETE FROM feature_cache WHERE feature_set = \(name)")
            try conn.execute("DELETE FROM feature_cache_counters WHERE feature_set = \(name)")
            try conn.execute("DELETE FROM feature_sets WHERE name = \(name)")
        }
    }

    static func set(_ conn: any SQLConnection, _ name: String) throws -> FeatureSet {
        guard
            let set = try conn.query(FeatureSet.self, "SELECT \(columns: FeatureSet.Column.self) FROM feature_sets WHERE name = \(name)")
                .first
        else {
            throw SuiteError(.notFound, "no feature set named \(name): define it first (PUT /v1/coffer/features/sets/\(name))")
        }
        return set
    }

    // MARK: writing

    /// Writes values in one transaction: all of them, or (on a bad one) none.
    /// - Throws: ``SuiteError`` `.invalid` naming the first bad row by its index.
    /// - Returns: how many values were written.
    @discardableResult
    public func put(_ grant: Grant, set name: String, _ rows: [FeatureWrite]) async throws -> Int {
        guard !rows.isEmpty, rows.count <= Self.maxWriteRows else {
            throw SuiteError(.invalid, "a write carries 1 to \(Self.maxWriteRows) values")
        }
        let set = try await self.set(grant, name)
        let now = WallClock.now.roundedToStoredPrecision
        let declared = Set(set.features)
        var values: [[SQLValue]] = []
        values.reserveCapacity(rows.count)
        for (index, row) in rows.enumerated() {
            func bad(_ reason: String) -> SuiteError { SuiteError(.invalid, "rows[\(index)]: \(reason); nothing was written") }
            guard Self.isEntity(row.entity) else { throw bad("entity must be 1 to 256 printable characters") }
            do { try Names.check(row.feature, what: "feature") } catch { throw bad("\(error)") }
            guard declared.isEmpty || declared.contains(row.feature) else {
                throw bad(
                    "feature \(row.feature) is not declared by feature set \(name) (it declares \(set.features.joined(separator: ", ")))")
            }
            let eventTime = (row.eventTime ?? now).roundedToStoredPrecision
            guard eventTime.timeIntervalSince(now) <= Self.futureTolerance else { throw bad("event_time is in the future") }
            var number: SQLValue = .null, json: SQLValue = .null
            switch (set.valueType, row.value) {
            case (_, .null): break
            case (.number, .integer(let value)): number = .double(Double(value))
            case (.number, .number(let value)) where value.isFinite: number = .double(value)
            case (.number, _): throw bad("value must be a number or null (feature set \(name) holds numbers)")
            case (.json, let value): json = .text(try JSONText.encode(value))
            }
            values.append([.text(name), .text(row.entity), .text(row.feature), .timestamp(eventTime), .timestamp(now), number, json])
        }
        let batch = values
        _ = try await database.transaction { conn in
            try conn.executeBatch(
                """
                INSERT INTO feature_cache (feature_set, entity, feature, event_time, write_time, value_number, value_json)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (feature_set, entity, feature, event_time) DO UPDATE SET write_time = excluded.write_time,
                    value_number = excluded.value_number, value_json = excluded.value_json
                """, rows: batch)
        }
        return batch.count
    }

    static func isEntity(_ entity: String) -> Bool {
        !entity.isEmpty && entity.utf8.count <= 256 && !entity.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    // MARK: reading

    /// The latest value of each feature for each entity, as of now or as of `asOf` (then only values both
    /// true and written by that time: a backtest never sees the future). TTLs are measured from the event
    /// time to now (or to `asOf`).
    /// - Parameter features: the features to answer; default: the set's declared ones, else those found.
    /// - Returns: per entity, per feature, its reading.
    public func latest(
        _ grant: Grant, set name: String, entities: [String], features: [String]? = nil,
        asOf: Date? = nil
    ) async throws -> [String: [String: FeatureReading]] {
        guard !entities.isEmpty, entities.count <= Self.maxReadEntities else {
            throw SuiteError(.invalid, "a read asks for 1 to \(Self.maxReadEntities) entities")
        }
        for feature in features ?? [] { try Names.check(feature, what: "a feature name") }
        let set = try await self.set(grant, name)
        let wanted = features ?? (set.features.isEmpty ? nil : set.features)
        let unique = Array(Set(entities))
        let query =
            database.dialect == .postgres
            ? Self.latestOnPostgres(set: name, entities: unique, features: wanted, asOf: asOf)
            : Self.latestOnSQLite(set: name, entities: unique, features: wanted, asOf: asOf)
        let found = query
        let rows = try await database.read { conn in try conn.query(LatestFeatureRecord.self, found) }
        let now = asOf ?? WallClock.now
        var answer: [String: [String: FeatureReading]] = [:]
        for entity in unique { answer[entity] = Dictionary(uniqueKeysWithValues: (wanted ?? []).map { ($0, FeatureReading.missing) }) }
        for row in rows {
            let point = row.point
            let expired = set.ttl > 0 && now.timeIntervalSince(point.eventTime) > Double(set.ttl)
            answer[row.entity, default: [:]][row.feature] = FeatureReading(
                state: expired ? .expired : .present, value: point.value, eventTime: point.eventTime, writeTime: point.writeTime)
        }
        var hits: Int64 = 0, misses: Int64 = 0, expired: Int64 = 0
        for readings in answer.values {
            for reading in readings.values {
                switch reading.state {
                case .present: hits += 1
                case .missing: misses += 1
                case .expired: expired += 1
                }
            }
        }
        counts.add(name, 0, hits)
        counts.add(name, 1, misses)
        counts.add(name, 2, expired)
        return answer
    }

    /// The latest value per entity and feature: a correlated `max(event_time)`, which SQLite answers from the
    /// primary key for each candidate row.
    static func latestOnSQLite(set name: String, entities: [String], features: [String]?, asOf: Date?) -> SQLQuery {
        var query: SQLQuery = """
            SELECT \(unsafeRaw: LatestFeatureRecord.columns(of: "v")) FROM feature_cache v
            WHERE v.feature_set = \(name) AND v.entity IN (\(SQLQuery.list(entities)))
            """
        if let features { query.append(" AND v.feature IN (\(SQLQuery.list(features)))") }
        var latest: SQLQuery = """
             AND v.event_time = (SELECT max(w.event_time) FROM feature_cache w
                WHERE w.feature_set = v.feature_set AND w.entity = v.entity AND w.feature = v.feature
            """
        if let asOf {
            query.append(" AND v.event_time <= \(asOf) AND v.write_time <= \(asOf)")
            latest.append(" AND w.event_time <= \(asOf) AND w.write_time <= \(asOf)")
        }
        latest.append(")")
        query.append(latest)
        return query
    }

    /// The same on PostgreSQL, driven from the entities (and features, when known) with a lateral index scan
    /// each. The `IN`-list form above gets a generic plan (prepared statements, after five runs) that, before
    /// the table is analysed, filters every row of the set: measured 88 ms against 3 ms for 100 entities.
    static func latestOnPostgres(set name: String, entities: [String], features: [String]?, asOf: Date?) -> SQLQuery {
        var asOfFilter: SQLQuery = ""
        if let asOf { asOfFilter = " AND w.event_time <= \(asOf) AND w.write_time <= \(asOf)" }
        var rows: SQLQuery = ""
        if let features {
            // One backward index scan per (entity, feature), LIMIT 1: cheap however long the history.
            for (index, pair) in entities.flatMap({ entity in features.map { (entity, $0) } }).enumerated() {
                if index > 0 { rows.append(", ") }
                rows.append("(\(pair.0), \(pair.1))")
            }
            return """
                SELECT p.entity, v.feature, \(columns: FeaturePoint.Column.self, of: "v") FROM (VALUES \(rows)) AS p(entity, feature)
                CROSS JOIN LATERAL (SELECT w.feature, \(columns: FeaturePoint.Column.self, of: "w") FROM feature_cache w
                    WHERE w.feature_set = \(name) AND w.entity = p.entity AND w.feature = p.feature\(asOfFilter)
                    ORDER BY w.event_time DESC LIMIT 1) AS v
                """
        }
        for (index, entity) in entities.enumerated() {
            if index > 0 { rows.append(", ") }
            rows.append("(\(entity))")
        }
        return """
            SELECT p.entity, v.feature, \(columns: FeaturePoint.Column.self, of: "v") FROM (VALUES \(rows)) AS p(entity)
            CROSS JOIN LATERAL (SELECT DISTINCT ON (w.feature) w.feature, \(columns: FeaturePoint.Column.self, of: "w")
                FROM feature_cache w
                WHERE w.feature_set = \(name) AND w.entity = p.entity\(asOfFilter)
                ORDER BY w.feature, w.event_time DESC) AS v
            """
    }

    /// An entity's feature between `from` and `to` (event times, inclusive), oldest first.
    public func history(
        _ grant: Grant, set name: String, entity: String, feature: String, from: Date, to: Date,
        limit: Int = 10_000
    ) async throws -> [FeaturePoint] {
        guard from <= to else { throw SuiteError(.invalid, "from must not be after to") }
        guard (1...100_000).contains(limit) else { throw SuiteError(.invalid, "limit must be from 1 to 100000") }
        return try await database.read { conn in
            _ = try Self.set(conn, name)
            return try conn.query(
                FeaturePoint.self,
                """
                SELECT \(columns: FeaturePoint.Column.self) FROM feature_cache
                WHERE feature_set = \(name) AND entity = \(entity) AND feature = \(feature)
                AND event_time >= \(from) AND event_time <= \(to)
                ORDER BY event_time LIMIT \(Int64(limit))
                """)
        }
    }

    /// Per feature: count, nulls, min, max, mean and last update; and the set's read counters.
    public func statistics(_ grant: Grant, set name: String) async throws -> FeatureSetStatistics {
        let (features, stored) = try await database.read { conn -> ([FeatureStatistics], [Int64]) in
            _ = try Self.set(conn, name)
            let features = try conn.query(
                FeatureStatistics.self,
                """
                SELECT feature, count(*) AS n, count(CASE WHEN value_number IS NULL AND value_json IS NULL THEN 1 END) AS nulls,
                    min(value_number) AS lo, max(value_number) AS hi, avg(value_number) AS mean, max(write_time) AS last_update
                FROM feature_cache WHERE feature_set = \(name) GROUP BY feature ORDER BY feature
                """)
            let counters = try conn.query(
                FeatureCountersRecord.self,
                "SELECT \(columns: FeatureCountersRecord.Column.self) FROM feature_cache_counters WHERE feature_set = \(name)"
            ).first
            return (features, counters?.counts ?? [0, 0, 0])
        }
        let pending = counts.peek(name)
        return FeatureSetStatistics(
            features: features, hits: stored[0] + pending[0], misses: stored[1] + pending[1], expired: stored[2] + pending[2])
    }

    /// Writes the read counters gathered since the last flush (the service does every few seconds).
    public func flushCounters() async throws {
        let batch = counts.take()
        guard !batch.isEmpty else { return }
        do {
            try await database.transaction { conn in
                for (set, row) in batch {
                    try conn.execute(
                        """
                        INSERT INTO feature_cache_counters (feature_set, hits, misses, expired) VALUES (\(set), \(row[0]),
                        \(row[1]), \(row[2]))
                        ON CONFLICT (feature_set) DO UPDATE SET hits = feature_cache_counters.hits + excluded.hits,
                            misses = feature_cache_counters.misses + excluded.misses, expired = feature_cache_counters.expired +
                            excluded.expired
                        """)
                }
            }
        } catch {
            counts.restore(batch)
            throw error
        }
    }

    // MARK: retention

    /// Removes values whose event time is before `olderThan` (or, without it, older than each set's retention),
    /// in transactions of `batch` rows so writers are never held up long.
    /// - Returns: how many values were removed.
    @discardableResult
    public func prune(_ grant: Grant, set name: String? = nil, olderThan: Date? = nil, batch: Int = 1_000) async throws -> Int {
        var targets: [(String, Date)] = []
        let now = WallClock.now
        if let name {
            let set = try await self.set(grant, name)
            if let cutoff = olderThan ?? (set.retention > 0 ? now.addingTimeInterval(-Double(set.retention)) : nil) {
                targets.append((name, cutoff))
            }
        } else {
            let sets = try await database.read { conn in
                try conn.query(
                    FeatureRetentionRecord.self, "SELECT \(columns: FeatureRetentionRecord.Column.self) FROM feature_sets ORDER BY name"
                ).map { ($0.name, $0.retention) }
            }
            for (set, retention) in sets {
                if let cutoff = olderThan ?? (retention > 0 ? now.addingTimeInterval(-Double(retention)) : nil) {
                    targets.append((set, cutoff))
                }
            }
        }
        var removed = 0
        for (set, cutoff) in targets {
            while true {
                let count = try await database.transaction { conn in
                    try conn.execute(
                        """
                        DELETE FROM feature_cache WHERE (feature_set, entity, feature, event_time) IN (
                            SELECT feature_set, entity, feature, event_time FROM feature_cache
                            WHERE feature_set = \(set) AND event_time < \(cutoff) LIMIT \(Int64(batch)))
                        """)
                }
                removed += count
                if count < batch { break }
            }
        }
        return removed
    }
}
