public import Foundation

/// How the persistent cache is bounded.
public struct CacheSettings: Sendable {
    /// Bytes the memory tier may hold (values plus 64 bytes each).
    public var memoryBytes: Int
    /// How long a value read into memory is served without reading the table again: the bound on how late
    /// another instance's write shows here. Writes made here show here at once.
    public var staleness: Duration
    public static let maxKeyBytes = 512
    public static let maxValueBytes = 1 << 20

    public init(memoryBytes: Int = 64 << 20, staleness: Duration = .seconds(5)) {
        self.memoryBytes = memoryBytes
        self.staleness = staleness
    }
}

/// A cache read's answer.
public struct CacheValue: Sendable, Equatable, Encodable {
    public enum Source: String, Sendable, Encodable { case memory, table }
    public let bytes: [UInt8]
    public let expiresAt: Date?
    public let source: Source
    /// Set when the answer comes from memory because the database could not be read (the envelope's
    /// `warnings`, not the value's fields).
    public let warning: String?

    private enum CodingKeys: String, CodingKey { case value, expiresAt = "expires_time", source }

    /// `{"value": <text>, "expires_time": <time or null>, "source": "memory" | "table"}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(String(decoding: bytes, as: UTF8.self), forKey: .value)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(source, forKey: .source)
    }
}

/// A namespace's statistics.
public struct CacheStatistics: Sendable, Equatable, Encodable {
    public let namespace: String
    public let entries: Int64
    public let bytes: Int64
    public let hits: Int64
    public let misses: Int64
    public let evictions: Int64
    public let expirations: Int64
    public let memoryEntries: Int
    public let memoryBytes: Int
    public let warm: Bool

    /// Hits over reads; 0 before the first read.
    public var hitRate: Double { hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses) }

    private enum CodingKeys: String, CodingKey {
        case namespace, entries, bytes, hits, misses, hitRate = "hit_rate", evictions, expirations
        case memoryEntries = "memory_entries", memoryBytes = "memory_bytes", warm
    }

    /// The statistics with ``hitRate`` beside the counters it comes from.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(namespace, forKey: .namespace)
        let counters: [(CodingKeys, Int64)] = [
            (.entries, entries), (.bytes, bytes), (.hits, hits), (.misses, misses), (.evictions, evictions), (.expirations, expirations)
        ]
        for (key, value) in counters { try container.encode(value, forKey: key) }
        try container.encode(hitRate, forKey: .hitRate)
        try container.encode(memoryEntries, forKey: .memoryEntries)
        try container.encode(memoryBytes, forKey: .memoryBytes)
        try container.encode(warm, forKey: .warm)
    }
}
