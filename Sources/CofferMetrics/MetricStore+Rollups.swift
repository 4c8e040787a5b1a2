import CofferFoundation
import CofferStore
import Foundation

/// Points in time order per series id, as one ingest stored them (or several, combined).
typealias PendingPoints = [Int64: [(Date, Double)]]

extension MetricStore {
    /// Chosen once, arbitrary: the advisory-lock key every instance's rollup pass takes on PostgreSQL ("coffer-mr"),
    /// so two passes never read and rewrite the same rollup row at once (a lost update under read committed).
    static let rollupLockKey: Int64 = 0x636f_6666_6572_6d72

    /// Merges up to `limit` pending ingests into the minute and hour rollups and deletes them, in one
    /// transaction: a pending row is merged exactly once, whichever instance runs the pass. The pass is the
    /// store's own upkeep over points already admitted through the Gate, so it takes no grant (the server's
    /// `MetricRoller` runs it every fraction of a second, which would flood the audit trail).
    ///
    /// A row that does not parse (a database writer cut or edited it) is deleted too, and counted: its raw
    /// points stay in `system_metrics`, but its buckets' rollups miss them (queries leave it out the same way).
    /// - Returns: the points merged (0 when nothing was pending) and the rows dropped as malformed.
    @discardableResult
    public func rollUpPending(limit: Int = 16) async throws -> (points: Int, malformed: Int) {
        try await database.transaction { conn in
            if conn.dialect == .postgres { _ = try conn.query("SELECT pg_advisory_xact_lock(\(Self.rollupLockKey))") }
            var ids: [Int64] = []
            var blobs: [[UInt8]] = []
            try conn.forEachRow("SELECT id, points FROM metric_pending ORDER BY id LIMIT \(Int64(limit))") { row in
                ids.append(try row.decode(Int64.self, at: 0))
                blobs.append(try row.decode([UInt8].self, at: 1))
            }
            guard !ids.isEmpty else { return (0, 0) }
            let (points, malformed) = PendingCodec.combine(blobs)
            for resolution in Self.resolutions { try Self.merge(conn, Self.rollups(of: points, width: resolution), resolution: resolution) }
            var idList: SQLQuery = ""
            for (position, id) in ids.enumerated() {
                if position > 0 { idList.append(", ") }
                idList.append("\(id)")
            }
            try conn.execute("DELETE FROM metric_pending WHERE id IN (\(idList))")
            return (points.values.reduce(0) { $0 + $1.count }, malformed)
        }
    }

    /// Queues one ingest's points for the rollup pass, in the ingest's transaction.
    static func queue(_ conn: any SQLConnection, _ points: PendingPoints) throws {
        var low = Date.distantFuture, high = Date.distantPast
        for list in points.values {
            low = min(low, list.first?.0 ?? low)
            high = max(high, list.last?.0 ?? high)
        }
        let blob = PendingCodec.encode(points)
        try conn.execute("INSERT INTO metric_pending (low, high, points) VALUES (\(low), \(high), \(blob))")
    }

    /// The pending points of `series` whose `width` bucket starts in [from, to), read on the caller's snapshot.
    static func pending(_ conn: any SQLConnection, series: Set<Int64>, width: Int64, from: Date, to: Date) throws -> PendingPoints {
        var blobs: [[UInt8]] = []
        try conn.forEachRow(
            "SELECT points FROM metric_pending WHERE high >= \(from) AND low < \(to) ORDER BY id"
        ) { row in blobs.append(try row.decode([UInt8].self, at: 0)) }
        var points = PendingCodec.combine(blobs).points
        for id in Array(points.keys) {
            guard series.contains(id), let list = points[id] else {
                points[id] = nil
                continue
            }
            let kept = list.filter { bucket($0.0, width) >= from && bucket($0.0, width) < to }
            points[id] = kept.isEmpty ? nil : kept
        }
        return points
    }

    /// Each series' points cut into `width` buckets, one rollup per bucket.
    static func rollups(of points: PendingPoints, width: Int64) -> [Int64: [Date: Rollup]] {
        var result: [Int64: [Date: Rollup]] = [:]
        for (series, values) in points {
            let buckets = values.map { QuantileSketch.bucket(of: $0.1) }
            // In time order, a bucket's values are one run: no grouping by hashing.
            var start = values.startIndex
            while start < values.endIndex {
                let bucketStart = bucket(values[start].0, width)
                let limit = bucketStart.addingTimeInterval(Double(width))
                var end = start + 1
                while end < values.endIndex, values[end].0 < limit { end += 1 }
                result[series, default: [:]][bucketStart] = Rollup(values[start..<end], buckets: buckets[start..<end])
                start = end
            }
        }
        return result
    }

    /// Merges bucket rollups into the stored ones of `resolution` (read, merged, written back).
    private static func merge(_ conn: any SQLConnection, _ added: [Int64: [Date: Rollup]], resolution: Int64) throws {
        guard !added.isEmpty else { return }
        var updates = added
        var low = Date.distantFuture, high = Date.distantPast
        for buckets in added.values {
            for start in buckets.keys {
                low = min(low, start)
                high = max(high, start)
            }
        }
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
            INSERT INTO metric_rollups (series_id, resolution, bucket, samples, total, lowest, highest, first_time, first_value,
                                        last_time, last_value, increase, sketch)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            ON CONFLICT (series_id, resolution, bucket) DO UPDATE SET samples = excluded.samples, total = excluded.total,
                lowest = excluded.lowest, highest = excluded.highest, first_time = excluded.first_time,
                first_value = excluded.first_value, last_time = excluded.last_time, last_value = excluded.last_value,
                increase = excluded.increase, sketch = excluded.sketch
            """, rows: rows)
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
}
