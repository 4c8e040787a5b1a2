public import CofferAccess
import CofferStore
public import Foundation

extension ErrorLog {
    /// Deletes error events (`error_logs`) that occurred before `before`; returns how many. Issues keep their
    /// counts, first and last seen times, status and history: only the individual events (and their stack
    /// traces) go, so an issue's page still says how often it happened.
    public func pruneEvents(_ grant: Grant, before: Date) async throws -> Int {
        try await database.deleteInBatches { limit in
            """
            DELETE FROM error_logs WHERE id IN (
                SELECT id FROM error_logs WHERE occurred_at < \(before) ORDER BY occurred_at LIMIT \(limit))
            """
        }
    }
}
