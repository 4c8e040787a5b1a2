public import CofferAccess
import CofferFoundation
public import CofferStore
import Foundation

/// System metrics (`system_metrics`): points by series (a name and a sorted label set, capped per metric),
/// ingested in batches of one transaction each, with minute and hour rollups merged by a background pass
/// (``rollUpPending(limit:)``) and current at query time all the same (a query merges what is pending), range
/// queries (avg, sum, min, max, count, rate, p50/p90/p99 per step, grouped by labels) that
/// read rollups for long ranges, and retention per metric name that never removes a rollup still within
/// its own retention.
public final class MetricStore: Sendable {
    let database: any Database
    /// Series ids by `name\0labels`, filled after commits only (a rolled-back insert is never cached).
    private let seriesIDs = Locked<[String: Int64]>([:])
    public static let maxBatch = 10_000, maxLabels = 16
    static let resolutions: [Int64] = [60, 3600]

    public init(database: any Database) {
        self.database = database
    }

    // MARK: ingest

    /// Stores points in one transaction, refusing the whole batch (naming the point) if one is bad.
    /// - Returns: points stored, and duplicates skipped (a series already has a value at that time).
    @discardableResult
    public func ingest(_ grant: Grant, _ points: [MetricPoint]) async throws -> (stored: Int, duplicates: Int) {
        guard !points.isEmpty, points.count <= Self.maxBatch else {
            throw SuiteError(.invalid, "a batch carries 1 to \(Self.maxBatch) points")
        }
        let now = WallClock.now.roundedToStoredPrecision
        // Names and labels are checked once per distinct series, values and times per point.
        struct Identity: Hashable {
            let name: String
            let labels: [String: String]
        }
        var identities: [Identity: Int] = [:]
        var series: [(key: String, name: String, labels: String, firstIndex: Int)] = []
        var values: [[(Date, Double)]] = []
        for (index, point) in points.enumerated() {
            func bad(_ reason: String) -> SuiteError { SuiteError(.invalid, "points[\(index)]: \(reason); nothing was ingested") }
            let identity = Identity(name: point.name, labels: point.labels)
            let slot: Int
            if let known = identities[identity] {
                slot = known
            } else {
                guard PrometheusName.isMetric(point.name) else {
                    throw bad("\(point.name) is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
                }
                guard point.labels.count <= Self.maxLabels else { throw bad("more than \(Self.maxLabels) labels") }
                for (label, value) in point.labels {
                    guard PrometheusName.isLabel(label) else {
                        throw bad("\(label) is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not __…)")
                    }
                    guard value.utf8.count <= 1024 else { throw bad("the value of label \(label) is longer than 1024 bytes") }
                }
                let labels = Self.canonical(point.labels)
                slot = series.count
                identities[identity] = slot
                series.append((point.name + "\u{0}" + labels, point.name, labels, index))
                values.append([])
            }
            guard point.value.isFinite else { throw bad("the value is \(point.value): NaN and infinities are not stored") }
            let time = (point.timestamp ?? now).roundedToStoredPrecision
            guard time.timeIntervalSince(now) <= 300 else { throw bad("the timestamp is in the future") }
            values[slot].append((time, point.value))
        }
        let known = seriesIDs.withLock { $0 }
        let (wanted, batch) = (series, values)
        let (stored, duplicates, created) = try await database.transaction { conn -> (Int, Int, [String: Int64]) in
            var ids: [Int64] = []
            var created: [String: Int64] = [:]
            for entry in wanted {
                if let id = known[entry.key] {
                    ids.append(id)
                    continue
                }
                let id = try Self.series(conn, name: entry.name, labels: entry.labels, index: entry.firstIndex, now: now)
                ids.append(id)
                created[entry.key] = id
            }
            // One value per series and time: later duplicates in the batch, and times already stored, are skipped.
            let sortedValues = batch.map { $0.sorted { $0.0 < $1.0 } }
            var low = Date.distantFuture, high = Date.distantPast
            for list in sortedValues {
                low = min(low, list.first?.0 ?? low)
                high = max(high, list.last?.0 ?? high)
            }
            var idList: SQLQuery = ""
            for (position, id) in ids.enumerated() {
                if position > 0 { idList.append(", ") }
                idList.append("\(id)")
            }
            var existing: [Int64: Set<Date>] = [:]
            try conn.forEachRow(
                """
                SELECT \(columns: PointRecord.Column.self) FROM system_metrics
                WHERE series_id IN (\(idList)) AND ts >= \(low) AND ts <= \(high)
                """
            ) { row in
                let point = try PointRecord(row: row)
                existing[point.seriesID, default: []].insert(point.time)
            }
            var rows: [[SQLValue]] = []
            rows.reserveCapacity(points.count)
            var fresh: PendingPoints = [:]
            var duplicates = 0
            for (position, list) in sortedValues.enumerated() {
                let id = ids[position]
                let stored = existing[id] ?? []
                var last: Date?
                var kept: [(Date, Double)] = []
                kept.reserveCapacity(list.count)
                for (time, value) in list {
                    if time == last || stored.contains(time) {
                        duplicates += 1
                        continue
                    }
                    last = time
                    rows.append([.int(id), .timestamp(time), .double(value)])
                    kept.append((time, value))
                }
                // A series appears once per batch (points were grouped by series above).
                if !kept.isEmpty { fresh[id] = kept }
            }
            if !rows.isEmpty {
                try conn.executeBatch("INSERT INTO system_metrics (series_id, ts, value) VALUES ($1, $2, $3)", rows: rows)
                // The rollups are the background pass's (rollUpPending); queries merge this row until it runs.
                try Self.queue(conn, fresh)
            }
            return (rows.count, duplicates, created)
        }
        if !created.isEmpty { seriesIDs.withLock { $0.merge(created) { $1 } } }
        return (stored, duplicates)
    }

    /// A label set as stored: a JSON object with its keys sorted (written by hand: a JSONEncoder per point
    /// was a third of the ingest time).
    static func canonical(_ labels: [String: String]) -> String {
        guard !labels.isEmpty else { return "{}" }
        func quoted(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        return "{" + labels.sorted { $0.key < $1.key }.map { quoted($0.key) + ":" + quoted($0.value) }.joined(separator: ",") + "}"
    }

    /// The series' id, creating it if the metric's cap allows.
    private static func series(_ conn: any SQLConnection, name: String, labels: String, index: Int, now: Date) throws -> Int64 {
        if let id = try conn.queryScalar(Int64.self, "SELECT id FROM metric_series WHERE name = \(name) AND labels = \(labels)") {
            return id
        }
        let cap =
            try conn.queryScalar(Int64.self, "SELECT max_series FROM metric_retention WHERE name = \(name)")
            ?? MetricRetention.default.maxSeries
        let count = try conn.queryScalar(Int64.self, "SELECT count(*) FROM metric_series WHERE name = \(name)") ?? 0
        guard count < cap else {
            throw SuiteError(
                .invalid,
                "points[\(index)]: \(name) already has \(count) label sets, its cap; a new series \(labels) is refused "
                    + "(nothing was ingested): drop a label with many values (an id, a path), "
                    + "or raise max_series with coffer metrics retention")
        }
        if let id = try conn.queryScalar(
            Int64.self,
            """
            INSERT INTO metric_series (name, labels, created_at) VALUES (\(name), \(labels), \(now)) ON CONFLICT (name, labels)
            DO NOTHING RETURNING id
            """)
        {
            return id
        }
        guard let id = try conn.queryScalar(Int64.self, "SELECT id FROM metric_series WHERE name = \(name) AND labels = \(labels)") else {
            throw SuiteError(.storage, "the series \(name) \(labels) was not created")
        }
        return id
    }
}
