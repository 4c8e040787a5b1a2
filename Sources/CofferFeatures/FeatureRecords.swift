import CofferFoundation
public import CofferStore
import Foundation

// The feature cache's rows as read: one record per table or query, its columns named once and read by position.

extension FeatureValueType: SQLTextEnum {}

extension FeatureSet: SQLRowDecodable {
    /// The columns of `feature_sets`.
    enum Column: String, SQLColumn {
        case name, valueType = "value_type", ttl = "ttl_seconds", retention = "retention_seconds", features, description
    }

    public init(row: SQLRow) throws {
        name = try row.decode(Column.name)
        valueType = try row.decode(Column.valueType)
        ttl = try row.decode(Column.ttl)
        retention = try row.decode(Column.retention)
        features = try JSONText.decode([String].self, try row.decode(Column.features))
        description = try row.decode(Column.description)
    }
}

/// A `feature_cache` row's value and times (a history's point).
extension FeaturePoint: SQLRowDecodable {
    /// The columns of `feature_cache` a point is read from.
    enum Column: String, SQLColumn { case eventTime = "event_time", writeTime = "write_time", number = "value_number", json = "value_json" }

    public init(row: SQLRow) throws {
        eventTime = try row.decode(Column.eventTime)
        writeTime = try row.decode(Column.writeTime)
        if let number: Double = try row.decode(Column.number) {
            value = .number(number)
        } else if let json: String = try row.decode(Column.json) {
            value = try JSONText.decode(JSONValue.self, json)
        } else {
            value = .null
        }
    }
}

/// A `feature_cache` row as a batch read finds it: the entity and feature, then the point.
struct LatestFeatureRecord: SQLRowDecodable {
    let entity: String
    let feature: String
    let point: FeaturePoint

    /// The columns before the point's.
    enum Column: String, SQLColumn { case entity, feature }

    /// The select list, qualified by `alias`: the entity and feature, then the point's columns.
    static func columns(of alias: String) -> String {
        (Column.allCases.map(\.rawValue) + FeaturePoint.Column.allCases.map(\.rawValue)).map { "\(alias).\($0)" }
            .joined(separator: ", ")
    }

    init(row: SQLRow) throws {
        entity = try row.decode(Column.entity)
        feature = try row.decode(Column.feature)
        point = try FeaturePoint(row: row.advanced(by: Column.allCases.count))
    }
}

/// A row of the statistics query: one feature's aggregates.
extension FeatureStatistics: SQLRowDecodable {
    /// The statistics query's select list, in order (aggregates under these aliases).
    enum Column: String, SQLColumn { case feature, count = "n", nulls, min = "lo", max = "hi", mean, lastUpdate = "last_update" }

    public init(row: SQLRow) throws {
        self.init(
            feature: try row.decode(Column.feature), count: try row.decode(Column.count), nulls: try row.decode(Column.nulls),
            min: try row.decode(Column.min), max: try row.decode(Column.max), mean: try row.decode(Column.mean),
            lastUpdate: try row.decode(Column.lastUpdate))
    }
}

/// A `feature_cache_counters` row: a set's reads, as stored (hits, misses, expired).
struct FeatureCountersRecord: SQLRowDecodable {
    let counts: [Int64]

    enum Column: String, SQLColumn { case hits, misses, expired }

    init(row: SQLRow) throws {
        counts = try Column.allCases.map { try row.decode($0) }
    }
}

/// A `feature_sets` row's retention, for pruning.
struct FeatureRetentionRecord: SQLRecord {
    let name: String
    let retention: Int64

    enum Column: String, SQLColumn, CodingKey { case name, retention = "retention_seconds" }
    typealias CodingKeys = Column
}
