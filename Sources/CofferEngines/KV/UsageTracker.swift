import CofferFoundation
import CofferStore
import Foundation

/// Access counts and last access times of secrets, kept in memory and written in batches, so a read is
/// not a write. A crash loses at most the counts of the last ``flushInterval`` (Docs/OPERATIONS.md).
public final class UsageTracker: Sendable {
    struct Usage {
        var count: Int64
        var last: Date
    }

    /// How often the service flushes (``flush()``); the bound on counts lost in a crash.
    public static let flushInterval: Duration = .seconds(2)

    private let database: any Database
    private let pending = Locked<[String: Usage]>([:])

    init(database: any Database) {
        self.database = database
    }

    /// Counts one read of the secret `id`.
    func record(_ id: String, at time: Date) {
        pending.withLock { pending in
            if var usage = pending[id] {
                usage.count += 1
                usage.last = max(usage.last, time)
                pending[id] = usage
            } else {
                pending[id] = Usage(count: 1, last: time)
            }
        }
    }

    /// Writes the counts gathered since the last flush in one transaction. Counts that fail to write are
    /// kept for the next flush.
    @discardableResult
    public func flush() async throws -> Int {
        let batch = pending.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        guard !batch.isEmpty else { return 0 }
        let rows: [[SQLValue]] = batch.sorted { $0.key < $1.key }.map { id, usage in
            [.int(usage.count), .timestamp(usage.last.roundedToStoredPrecision), .text(id)]
        }
        do {
            _ = try await database.transaction { conn in
                try conn.executeBatch(
                    """
                    UPDATE api_credentials SET access_count = access_count + $1,
                        last_accessed_at = CASE WHEN last_accessed_at IS NULL OR last_accessed_at < $2 THEN $2 ELSE last_accessed_at END
                    WHERE id = $3
                    """, rows: rows)
            }
        } catch {
            pending.withLock { pending in
                for (id, usage) in batch {
                    let merged = pending[id].map { Usage(count: $0.count + usage.count, last: max($0.last, usage.last)) } ?? usage
                    pending[id] = merged
                }
            }
            throw error
        }
        return batch.count
    }
}
