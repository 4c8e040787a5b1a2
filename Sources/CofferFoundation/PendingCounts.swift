/// Counts kept in memory and written in batches, so a read is not a write (hits, misses, evictions).
/// A crash loses at most one flush interval of counts; a failed flush keeps them for the next.
public final class PendingCounts<Key: Hashable & Sendable>: Sendable {
    private let pending = Locked<[Key: [Int64]]>([:])
    public let width: Int

    public init(width: Int) { self.width = width }

    public func add(_ key: Key, _ field: Int, _ amount: Int64 = 1) {
        pending.withLock { pending in
            var row = pending[key] ?? [Int64](repeating: 0, count: width)
            row[field] += amount
            pending[key] = row
        }
    }

    /// The counts not yet written for `key`.
    public func peek(_ key: Key) -> [Int64] {
        pending.withLock { $0[key] } ?? [Int64](repeating: 0, count: width)
    }

    /// Takes every count; hand them back with ``restore(_:)`` when they could not be written.
    public func take() -> [Key: [Int64]] {
        pending.withLock { pending in
            defer { pending = [:] }
            return pending
        }
    }

    public func restore(_ counts: [Key: [Int64]]) {
        pending.withLock { pending in
            for (key, row) in counts {
                var merged = pending[key] ?? [Int64](repeating: 0, count: width)
                for index in merged.indices { merged[index] += row[index] }
                pending[key] = merged
            }
        }
    }
}
