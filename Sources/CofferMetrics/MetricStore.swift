public import CofferAccess
import CofferFoundation
public import CofferStore
import Foundation

/// System metrics (`system_metrics`): points by series (a name and a sorted label set, capped per metric),
/// ingested in batches of one transaction each, with minute and hour rollups kept up to date as they
/// arrive, range queries (avg, sum, min, max, count, rate, p50/p90/p99 per step, grouped by labels) that
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
                "SELECT series_id, ts FROM system_metrics WHERE series_id IN (\(idList)) AND ts >= \(low) AND ts <= \(high)"
            ) { row in
                existing[try row.decode(Int64.self, at: 0), default: []].insert(try row.decode(Date.self, at: 1))
            }
            var rows: [[SQLValue]] = []
            rows.reserveCapacity(points.count)
            var fresh: Fresh = [:]
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
                if !kept.isEmpty {
                    // A series appears once per batch (points were grouped by series above).
                    fresh[id] = (kept, kept.map { QuantileSketch.bucket(of: $0.1) })
                }
            }
            if !rows.isEmpty {
                try conn.executeBatch("INSERT INTO system_metrics (series_id, ts, value) VALUES ($1, $2, $3)", rows: rows)
                for resolution in Self.resolutions { try Self.rollUp(conn, fresh, resolution: resolution) }
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
                "points[\(index)]: \(name) already has \(count) label sets, its cap; a new series \(labels) is refused (nothing was ingested): "
                    + "drop a label with many values (an id, a path), or raise max_series with coffer metrics retention")
        }
        if let id = try conn.queryScalar(
            Int64.self,
            """
            INSERT INTO metric_series (name, labels, created_at) VALUES (\(name), \(labels), \(now)) ON CONFLICT (name, labels) DO NOTHING RETURNING id
            """)
        {
            return id
        }
        guard let id = try conn.queryScalar(Int64.self, "SELECT id FROM metric_series WHERE name = \(name) AND labels = \(labels)") else {
            throw SuiteError(.storage, "the series \(name) \(labels) was not created")
        }
        return id
    }

    /// One rollup bucket's contents.
    struct Rollup {
        var samples: Int64
        var total: Double
        var lowest: Double
        var highest: Double
        var firstTime: Date
        var firstValue: Double
        var lastTime: Date
        var lastValue: Double
        var increase: Double
        var sketch: QuantileSketch

        init(_ values: [(Date, Double)]) {
            self.init(values[...], buckets: values.map { QuantileSketch.bucket(of: $0.1) }[...])
        }

        /// One pass over values in time order, with their sketch buckets worked out once for both resolutions.
        init(_ values: ArraySlice<(Date, Double)>, buckets: ArraySlice<QuantileSketch.Bucket>) {
            samples = Int64(values.count)
            var total = 0.0, lowest = Double.infinity, highest = -Double.infinity, increase = 0.0
            var previous: Double?
            for (_, value) in values {
                total += value
                lowest = Swift.min(lowest, value)
                highest = Swift.max(highest, value)
                if let previous { increase += value >= previous ? value - previous : value }
                previous = value
            }
            (self.total, self.lowest, self.highest, self.increase) = (total, lowest, highest, increase)
            (firstTime, firstValue) = values[values.startIndex]
            (lastTime, lastValue) = values[values.endIndex - 1]
            sketch = QuantileSketch()
            for bucket in buckets { sketch.add(bucket) }
        }

        /// The columns of `metric_rollups`, its key first; a rollup reads its own from a row that selects them all.
        enum Column: String, SQLColumn {
            case seriesID = "series_id", bucket, samples, total, lowest, highest, firstTime = "first_time", firstValue = "first_value"
            case lastTime = "last_time", lastValue = "last_value", increase, sketch
        }

        init(row: SQLRow) throws {
            samples = try row.decode(Column.samples)
            total = try row.decode(Column.total)
            lowest = try row.decode(Column.lowest)
            highest = try row.decode(Column.highest)
            firstTime = try row.decode(Column.firstTime)
            firstValue = try row.decode(Column.firstValue)
            lastTime = try row.decode(Column.lastTime)
            lastValue = try row.decode(Column.lastValue)
            increase = try row.decode(Column.increase)
            sketch = QuantileSketch(encoded: try row.decode(Column.sketch)) ?? QuantileSketch()
        }

        /// Adds a later (or earlier) rollup of the same bucket.
        mutating func merge(_ other: Rollup) {
            if other.firstTime > lastTime {
                increase += other.increase + (other.firstValue >= lastValue ? other.firstValue - lastValue : other.firstValue)
            } else if other.lastTime < firstTime {
                increase += other.increase + (firstValue >= other.lastValue ? firstValue - other.lastValue : firstValue)
            } else {
                increase += other.increase // interleaved in time: the rise between them is not known
            }
            samples += other.samples
            total += other.total
            lowest = Swift.min(lowest, other.lowest)
            highest = Swift.max(highest, other.highest)
            if other.firstTime < firstTime { (firstTime, firstValue) = (other.firstTime, other.firstValue) }
            if other.lastTime > lastTime { (lastTime, lastValue) = (other.lastTime, other.lastValue) }
            sketch.merge(other.sketch)
        }
    }

    static func bucket(_ time: Date, _ width: Int64) -> Date {
        let seconds = Int64(floor(time.timeIntervalSince1970))
        return Date(timeIntervalSince1970: Double(seconds - ((seconds % width) + width) % width))
    }

    /// Values in time order (as ingest keeps them), with each value's sketch bucket.
    typealias Fresh = [Int64: (values: [(Date, Double)], buckets: [QuantileSketch.Bucket])]

    private static func rollUp(_ conn: any SQLConnection, _ fresh: Fresh, resolution: Int64) throws {
        var updates: [Int64: [Date: Rollup]] = [:]
        var low = Date.distantFuture, high = Date.distantPast
        for (series, run) in fresh {
            // In time order, a bucket's values are one run: no grouping by hashing.
            var start = run.values.startIndex
            while start < run.values.endIndex {
                let bucketStart = bucket(run.values[start].0, resolution)
                let limit = bucketStart.addingTimeInterval(Double(resolution))
                var end = start + 1
                while end < run.values.endIndex, run.values[end].0 < limit { end += 1 }
                updates[series, default: [:]][bucketStart] = Rollup(run.values[start..<end], buckets: run.buckets[start..<end])
                low = min(low, bucketStart)
                high = max(high, bucketStart)
                start = end
            }
        }
        guard !updates.isEmpty else { return }
        var query: SQLQuery =
            """
            SELECT \(columns: Rollup.Column.self) FROM metric_rollups
            WHERE resolution = \(resolution) AND bucket >= \(low) AND bucket <= \(high) AND series_id IN (
            """
        for (index, series) in updates.keys.enumerated() {
            if index > 0 { query.append(", ") }
            query.append("\(series)")
        }
        query.append(")")
        try conn.forEachRow(query) { row in
            let series = try row.decode(Rollup.Column.seriesID, as: Int64.self), start = try row.decode(Rollup.Column.bucket, as: Date.self)
            guard let added = updates[series]?[start] else { return }
            var stored = try Rollup(row: row)
            stored.merge(added)
            updates[series]?[start] = stored
        }
        var rows: [[SQLValue]] = []
        for (series, buckets) in updates {
            for (start, rollup) in buckets {
                rows.append([
                    .int(series), .int(resolution), .timestamp(start), .int(rollup.samples), .double(rollup.total), .double(rollup.lowest),
                    .double(rollup.highest), .timestamp(rollup.firstTime), .double(rollup.firstValue), .timestamp(rollup.lastTime),
                    .double(rollup.lastValue), .double(rollup.increase), .blob(rollup.sketch.encoded)
                ])
            }
        }
        try conn.executeBatch(
            """
            INSERT INTO metric_rollups (series_id, resolution, bucket, samples, total, lowest, highest, first_time, first_value, last_time, last_value, increase, sketch)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            ON CONFLICT (series_id, resolution, bucket) DO UPDATE SET samples = excluded.samples, total = excluded.total, lowest = excluded.lowest,
                highest = excluded.highest, first_time = excluded.first_time, first_value = excluded.first_value, last_time = excluded.last_time,
                last_value = excluded.last_value, increase = excluded.increase, sketch = excluded.sketch
            """, rows: rows)
    }
}
