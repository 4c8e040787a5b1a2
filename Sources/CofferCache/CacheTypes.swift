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
public struct CacheValue: Sendable, Equatable {
    public enum Source: String, Sendable { case memory, table }
    public let bytes: [UInt8]
    public let expiresAt: Date?
    public let source: Source
    /// Set when the answer comes from memory because the database could not be read.
    public let warning: String?
}

/// A namespace's statistics.
public struct CacheStatistics: Sendable, Equatable {
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
}
