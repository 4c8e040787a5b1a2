public import CofferAccess
import CofferStore
public import Foundation

extension HealthMonitor {
    /// Deletes check results (`system_health`) older than `before`, in short batches; returns how many. The
    /// checks' current state (`health_state`) is kept, so a check that has not run since keeps its status;
    /// availability is computed from what is left, so a retention under 30 days shortens the 30-day window.
    public func pruneResults(_ grant: Grant, before: Date) async throws -> Int {
        try await database.deleteInBatches { limit in
            """
            DELETE FROM system_health WHERE id IN (
                SELECT id FROM system_health WHERE checked_at < \(before) ORDER BY checked_at LIMIT \(limit))
            """
        }
    }
}

extension AlertEngine {
    /// Deletes alert transitions and repeats (`alert_history`) older than `before`; the rules' current state
    /// (`alert_state`) is kept, so a firing alert stays firing. Returns how many.
    public func pruneHistory(_ grant: Grant, before: Date) async throws -> Int {
        try await database.deleteInBatches { limit in
            "DELETE FROM alert_history WHERE id IN (SELECT id FROM alert_history WHERE at < \(before) ORDER BY at LIMIT \(limit))"
        }
    }
}
