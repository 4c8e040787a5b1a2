public import CofferFoundation
public import Foundation

/// What a feature set's values are: numbers (or null), or any JSON value.
public enum FeatureValueType: String, Sendable, Codable, CaseIterable {
    case number, json
}

/// A feature set: its value type, the TTL enforced on read, how long values are kept, and (optionally)
/// the features it declares.
public struct FeatureSet: Sendable, Equatable, Encodable {
    public let name: String
    public let valueType: FeatureValueType
    /// Seconds after its event time a value is answered as expired; 0: never.
    public let ttl: Int64
    /// Seconds after its event time the pruner removes a value; 0: kept.
    public let retention: Int64
    /// Declared features; empty: any name is accepted.
    public let features: [String]
    public let description: String

    enum CodingKeys: String, CodingKey { case name, valueType = "value_type", ttl, retention, features, description }

    public init(
        name: String, valueType: FeatureValueType, ttl: Int64 = 0, retention: Int64 = 0, features: [String] = [], description: String = ""
    ) {
        self.name = name
        self.valueType = valueType
        self.ttl = ttl
        self.retention = retention
        self.features = features
        self.description = description
    }
}

/// One value to write.
public struct FeatureWrite: Sendable, Equatable {
    public let entity: String
    public let feature: String
    public let value: JSONValue
    /// When the value was true in the world; default: now.
    public let eventTime: Date?

    public init(entity: String, feature: String, value: JSONValue, eventTime: Date? = nil) {
        self.entity = entity
        self.feature = feature
        self.value = value
        self.eventTime = eventTime
    }
}

/// A feature as a read answers it: present, missing, or expired (older than the set's TTL; its last value
/// is given for reference but must not be used as current).
public struct FeatureReading: Sendable, Equatable, Encodable {
    public enum State: String, Sendable, Encodable { case present, missing, expired }
    public let state: State
    @EncodesNull public internal(set) var value: JSONValue?
    @EncodesNull public internal(set) var eventTime: Date?
    @EncodesNull public internal(set) var writeTime: Date?

    enum CodingKeys: String, CodingKey { case state = "status", value, eventTime = "event_time", writeTime = "write_time" }

    static let missing = FeatureReading(state: .missing, value: nil, eventTime: nil, writeTime: nil)
}

/// A point of a feature's history.
public struct FeaturePoint: Sendable, Equatable, Encodable {
    public let eventTime: Date
    public let writeTime: Date
    public let value: JSONValue

    enum CodingKeys: String, CodingKey { case eventTime = "event_time", writeTime = "write_time", value }
}

/// Statistics of one feature (numbers for a number set; count, nulls and last update for any).
public struct FeatureStatistics: Sendable, Equatable, Encodable {
    public let feature: String
    public let count: Int64
    public let nulls: Int64
    @EncodesNull public internal(set) var min: Double?
    @EncodesNull public internal(set) var max: Double?
    @EncodesNull public internal(set) var mean: Double?
    @EncodesNull public internal(set) var lastUpdate: Date?

    enum CodingKeys: String, CodingKey { case feature, count, nulls, min, max, mean, lastUpdate = "last_update" }
}

/// A feature set's statistics and its read counters.
public struct FeatureSetStatistics: Sendable, Equatable, Encodable {
    public let features: [FeatureStatistics]
    /// Values read present.
    public let hits: Int64
    /// Values read missing.
    public let misses: Int64
    /// Values read expired.
    public let expired: Int64
}
