public import CofferAccess
import CofferFoundation
import CofferStore
import Foundation

extension MetricStore {
    /// Where a query reads from: raw points, or minute or hour rollups.
    enum Source: Equatable {
        case raw
        case rollup(Int64)

        var name: String {
            switch self {
            case .raw: "raw"
            case .rollup(let width): width == 60 ? "1m" : "1h"
            }
        }
    }

    /// Runs a range query.
    /// - Throws: ``SuiteError`` `.invalid` for a bad name, a step under a second or one giving more than
    ///   11,000 points, a range that ends before it starts; `.notFound` for a metric with no series.
    public func query(_ grant: Grant, _ query: MetricQuery) async throws -> [MetricSeriesResult] {
        guard PrometheusName.isMetric(query.name) else { throw SuiteError(.invalid, "\(query.name) is not a Prometheus metric name") }
        guard query.from < query.to else { throw SuiteError(.invalid, "from must be before to") }
        guard query.step >= 1, (query.to.timeIntervalSince(query.from) / Double(query.step)) <= 11_000 else {
            throw SuiteError(.invalid, "step must be at least 1 s and give at most 11,000 points over the range (Prometheus' limit)")
        }
        for label in query.groupBy + query.match.keys where !PrometheusName.isLabel(label) {
            throw SuiteError(.invalid, "\(label) is not a label name")
        }
        let retention = try await self.retention(grant, name: query.name)
        let now = WallClock.now
        // The coarsest rollup the step is a multiple of; raw points when the step is finer than a minute
        // and they are still kept for the whole range.
        var source: Source = .raw
        if query.step % 3600 == 0, retention.hour == 0 || query.from >= now.addingTimeInterval(-Double(retention.hour)) {
            source = .rollup(3600)
        }
        if source == .raw, query.step % 60 == 0 { source = .rollup(60) }
        if source == .rollup(60), query.step % 3600 == 0, retention.minute > 0,
            query.from < now.addingTimeInterval(-Double(retention.minute))
        {
            source = .rollup(3600)
        }
        if source == .raw, retention.raw > 0, query.from < now.addingTimeInterval(-Double(retention.raw)) {
            throw SuiteError(
                .invalid, "raw points older than \(retention.raw) s are not kept: use a step that is a multiple of 60 to read rollups")
        }
        let (name, match, groupBy) = (query.name, query.match, query.groupBy)
        let series = try await database.read { conn in
            try conn.query(SeriesRecord.self, "SELECT \(columns: SeriesRecord.Column.self) FROM metric_series WHERE name = \(name)")
                .map { ($0.id, $0.series.labels) }
        }.filter { _, labels in match.allSatisfy { labels[$0.key] == $0.value } }
        guard !series.isEmpty else { throw SuiteError(.notFound, "no series of \(name)\(match.isEmpty ? "" : " matching \(match)")") }
        var groupOf: [Int64: [String: String]] = [:]
        for (id, labels) in series { groupOf[id] = labels.filter { groupBy.contains($0.key) } }
        let step = query.step
        func stepStart(_ time: Date) -> Date { Self.bucket(time, step) }
        var idList: SQLQuery = ""
        for (index, (id, _)) in series.enumerated() {
            if index > 0 { idList.append(", ") }
            idList.append("\(id)")
        }
        let ids = idList
        let (from, to) = (stepStart(query.from), query.to)
        // Per group and step: the merged rollup; per series and step too, for rate.
        var perGroup: [[String: String]: [Date: Rollup]] = [:]
        var perSeries: [Int64: [Date: [Rollup]]] = [:]
        switch source {
        case .raw:
            let rows = try await database.read { conn -> [(Int64, Date, Double)] in
                try conn.query(
                    PointRecord.self,
                    """
                    SELECT \(columns: PointRecord.Column.self) FROM system_metrics
                    WHERE series_id IN (\(ids)) AND ts >= \(from) AND ts < \(to) ORDER BY series_id, ts
                    """
                ).map { ($0.seriesID, $0.time, $0.value) }
            }
            var grouped: [Int64: [Date: [(Date, Double)]]] = [:]
            for (id, time, value) in rows { grouped[id, default: [:]][stepStart(time), default: []].append((time, value)) }
            for (id, steps) in grouped {
                for (start, values) in steps { perSeries[id, default: [:]][start, default: []].append(Rollup(values)) }
            }
        case .rollup(let width):
            // The stored rollups and the points still pending for them, as of one moment: the background pass
            // moves points from one to the other in a transaction, so two separate reads could count them twice or not at all.
            let wanted = Set(series.map(\.0))
            let (stored, pending) = try await database.snapshot { conn -> ([Int64: [Date: Rollup]], PendingPoints) in
                var stored: [Int64: [Date: Rollup]] = [:]
                try conn.forEachRow(
                    """
                    SELECT \(columns: Rollup.Column.self) FROM metric_rollups
                    WHERE resolution = \(width) AND series_id IN (\(ids)) AND bucket >= \(from) AND bucket < \(to)
                    """
                ) { row in
                    stored[try row.decode(Rollup.Column.seriesID), default: [:]][try row.decode(Rollup.Column.bucket)] = try Rollup(
                        row: row)
                }
                return (stored, try Self.pending(conn, series: wanted, width: width, from: from, to: to))
            }
            var buckets = stored
            for (id, added) in Self.rollups(of: pending, width: width) {
                for (start, rollup) in added {
                    if buckets[id]?[start] != nil { buckets[id]?[start]?.merge(rollup) } else { buckets[id, default: [:]][start] = rollup }
                }
            }
            // Buckets in time order within each step, so the rise between one and the next counts (see below).
            for (id, rollups) in buckets {
                for start in rollups.keys.sorted() { perSeries[id, default: [:]][stepStart(start), default: []].append(rollups[start]!) }
            }
        }
        var rates: [[String: String]: [Date: Double]] = [:]
        for (id, steps) in perSeries {
            let group = groupOf[id] ?? [:]
            for (start, rollups) in steps {
                // Buckets in time order, so the rise between one and the next counts toward the increase.
                var merged = rollups[0]
                for next in rollups.dropFirst() { merged.merge(next) }
                rates[group, default: [:]][start, default: 0] += merged.increase / Double(step)
                if var existing = perGroup[group]?[start] {
                    let increase = existing.increase
                    existing.merge(merged)
                    existing.increase = increase + merged.increase // different series: no rise between them
                    perGroup[group]?[start] = existing
                } else {
                    perGroup[group, default: [:]][start] = merged
                }
            }
        }
        return perGroup.map { group, steps in
            let points: [(Date, Double)] = steps.keys.sorted().compactMap { start in
                guard let rollup = steps[start] else { return nil }
                let value: Double? =
                    switch query.function {
                    case .avg: rollup.total / Double(rollup.samples)
                    case .sum: rollup.total
                    case .min: rollup.lowest
                    case .max: rollup.highest
                    case .count: Double(rollup.samples)
                    case .rate: rates[group]?[start]
                    case .p50: rollup.sketch.quantile(0.5)
                    case .p90: rollup.sketch.quantile(0.9)
                    case .p99: rollup.sketch.quantile(0.99)
                    }
                return value.map { (start, $0) }
            }
            return MetricSeriesResult(labels: group, points: points, source: source.name)
        }.sorted { $0.labels.sorted { $0.key < $1.key }.description < $1.labels.sorted { $0.key < $1.key }.description }
    }

    /// Every series (of one metric, or all), with its labels.
    public func series(_ grant: Grant, name: String? = nil) async throws -> [MetricSeries] {
        try await database.read { conn in
            var query: SQLQuery = "SELECT \(columns: SeriesRecord.Column.self) FROM metric_series"
            if let name { query.append(" WHERE name = \(name)") }
            query.append(" ORDER BY name, labels")
            return try conn.query(SeriesRecord.self, query).map(\.series)
        }
    }

    // MARK: retention

    /// A metric's retention (its own, else the default).
    public func retention(_ grant: Grant, name: String) async throws -> MetricRetention {
        try await database.read { conn in
            try conn.query(
                MetricRetention.self, "SELECT \(columns: MetricRetention.Column.self) FROM metric_retention WHERE name = \(name)"
            ).first ?? .default
        }
    }

    /// Sets a metric's retention.
    /// - Throws: ``SuiteError`` `.invalid` for a negative duration, a cap under 1, or rollups kept shorter than what they summarise.
    public func setRetention(_ grant: Grant, name: String, _ retention: MetricRetention) async throws {
        guard PrometheusName.isMetric(name) else { throw SuiteError(.invalid, "\(name) is not a Prometheus metric name") }
        guard retention.raw >= 0, retention.minute >= 0, retention.hour >= 0, retention.maxSeries >= 1 else {
            throw SuiteError(.invalid, "retentions are zero (kept) or positive seconds, and max_series at least 1")
        }
        func covers(_ longer: Int64, _ shorter: Int64) -> Bool { longer == 0 || (shorter != 0 && longer >= shorter) }
        guard covers(retention.hour, retention.minute), covers(retention.minute, retention.raw) else {
            throw SuiteError(.invalid, "keep hour rollups at least as long as minute rollups, and those at least as long as raw points")
        }
        let now = WallClock.now.roundedToStoredPrecision
        try await database.transaction { conn in
            // The insert decides create vs update even when two writers race: only one of them inserts.
            let inserted = try conn.execute(
                """
                INSERT INTO metric_retention (name, raw_seconds, minute_seconds, hour_seconds, max_series, updated_at)
                VALUES (\(name), \(retention.raw), \(retention.minute), \(retention.hour), \(retention.maxSeries), \(now))
                ON CONFLICT (name) DO NOTHING
                """)
            try grant.requireWrite(exists: inserted == 0)
            guard inserted == 0 else { return }
            try conn.execute(
                """
                UPDATE metric_retention SET raw_seconds = \(retention.raw), minute_seconds = \(retention.minute), hour_seconds =
                \(retention.hour),
                    max_series = \(retention.maxSeries), updated_at = \(now)
                WHERE name = \(name)
                """)
        }
    }

    /// Deletes raw points and rollups past each metric's retention, each table by its own, `batch` rows per
    /// transaction. - Returns: rows deleted.
    @discardableResult
    public func applyRetention(_ grant: Grant, batch: Int = 5_000) async throws -> Int {
        let names = try await database.read { conn in
            try conn.query("SELECT DISTINCT name FROM metric_series ORDER BY name").map { try $0.decode(String.self, at: 0) }
        }
        var removed = 0
        let now = WallClock.now
        for name in names {
            let retention = try await self.retention(grant, name: name)
            for (seconds, resolution) in [(retention.raw, Int64(0)), (retention.minute, 60), (retention.hour, 3600)] where seconds > 0 {
                let cutoff = now.addingTimeInterval(-Double(seconds))
                while true {
                    let count = try await database.transaction { conn in
                        resolution == 0
                            ? try conn.execute(
                                """
                                DELETE FROM system_metrics WHERE (series_id, ts) IN (SELECT m.series_id, m.ts FROM system_metrics m
                                    WHERE m.series_id IN (SELECT id FROM metric_series WHERE name = \(name)) AND m.ts < \(cutoff)
                                    LIMIT \(Int64(batch)))
                                """)
                            : try conn.execute(
                                """
                                DELETE FROM metric_rollups WHERE (series_id, resolution, bucket) IN (SELECT r.series_id,
                                r.resolution, r.bucket FROM metric_rollups r
                                    JOIN metric_series s ON s.id = r.series_id WHERE s.name = \(name) AND r.resolution =
                                    \(resolution) AND r.bucket < \(cutoff)
                                    LIMIT \(Int64(batch)))
                                """)
                    }
                    removed += count
                    if count < batch { break }
                }
            }
        }
        return removed
    }
}
