import CofferFoundation
public import CofferStore
import Foundation

// The metric store's rows as read: one record per table, its columns named once and read by position (the rollups'
// record is ``MetricStore/Rollup``).

/// A `metric_series` row: a series' id, name and label set.
struct SeriesRecord: SQLRowDecodable {
    let id: Int64
    let series: MetricSeries

    /// The columns of `metric_series`.
    enum Column: String, SQLColumn { case id, name, labels }

    init(row: SQLRow) throws {
        id = try row.decode(Column.id)
        series = MetricSeries(
            name: try row.decode(Column.name), labels: try JSONText.decode([String: String].self, try row.decode(Column.labels)))
    }
}

/// A `system_metrics` row: one raw point of a series.
struct PointRecord: SQLRecord {
    let seriesID: Int64
    let time: Date
    let value: Double

    /// The columns of `system_metrics`.
    enum Column: String, SQLColumn, CodingKey { case seriesID = "series_id", time = "ts", value }
    typealias CodingKeys = Column
}

/// A `metric_retention` row: a metric's own retention.
extension MetricRetention: SQLRowDecodable {
    /// The columns of `metric_retention` a retention is read from.
    enum Column: String, SQLColumn { case raw = "raw_seconds", minute = "minute_seconds", hour = "hour_seconds", maxSeries = "max_series" }

    public init(row: SQLRow) throws {
        self.init(
            raw: try row.decode(Column.raw), minute: try row.decode(Column.minute), hour: try row.decode(Column.hour),
            maxSeries: try row.decode(Column.maxSeries))
    }
}
