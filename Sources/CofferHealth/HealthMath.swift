public import Foundation

/// The arithmetic of health, kept pure so tests can check it against hand-computed cases.
public enum HealthMath {
    /// A check's state after one more result: `failAfter` failed runs in a row make it critical, `passAfter`
    /// passing runs in a row bring a critical check back; a passing or warning check follows its results.
    public static func next(
        status: HealthStatus, failures: Int, successes: Int, result: HealthStatus, failAfter: Int,
        passAfter: Int
    ) -> (status: HealthStatus, failures: Int, successes: Int) {
        if result == .critical {
            let failures = failures + 1
            return (failures >= failAfter ? .critical : status, failures, 0)
        }
        let successes = successes + 1
        if status == .critical { return (successes >= passAfter ? result : .critical, 0, successes) }
        return (result, 0, successes)
    }

    /// Nagios' flap detection: over the last 21 results, each change of state weighs from 0.8 (oldest) to
    /// 1.2 (newest); their sum over 20 possible changes is the percent state change. A check starts flapping
    /// at 50% or more and stops below 25% (hysteresis: in between it keeps what it was).
    public static func percentStateChange(_ results: [HealthStatus]) -> Double {
        let recent = Array(results.suffix(21))
        guard recent.count > 1 else { return 0 }
        var total = 0.0
        for index in 1..<recent.count where recent[index] != recent[index - 1] {
            total += 0.8 + Double(index - 1) * (0.4 / 19)
        }
        return total / 20 * 100
    }

    public static func flapping(was: Bool, results: [HealthStatus], high: Double = 50, low: Double = 25) -> Bool {
        let percent = percentStateChange(results)
        if percent >= high { return true }
        if percent < low { return false }
        return was
    }

    /// Availability over `from…to`: each result holds its state until the next one, but no longer than two
    /// intervals (a longer gap is the checker not running, which is not downtime); maintenance windows and
    /// results in maintenance are left out of both the observed and the down time. Down is critical.
    public static func availability(
        results: [(Date, HealthStatus)], maintenance: [(Date, Date)], from: Date, to: Date,
        interval: TimeInterval
    ) -> Availability {
        let sorted = results.sorted { $0.0 < $1.0 }
        var observed = 0.0, down = 0.0
        for (index, (time, status)) in sorted.enumerated() where status != .maintenance {
            let next = index + 1 < sorted.count ? sorted[index + 1].0 : to
            let start = max(time, from)
            let end = min(next, time.addingTimeInterval(2 * interval), to)
            guard end > start else { continue }
            let span = end.timeIntervalSince(start) - overlap(start, end, maintenance)
            observed += span
            if status == .critical { down += span }
        }
        let window = to.timeIntervalSince(from)
        return Availability(
            window: window, percent: observed > 0 ? (observed - down) / observed * 100 : nil, observed: observed, down: down)
    }

    /// Seconds of `start…end` inside the (possibly overlapping) windows.
    static func overlap(_ start: Date, _ end: Date, _ windows: [(Date, Date)]) -> TimeInterval {
        let clipped = windows.compactMap { window -> (Date, Date)? in
            let (a, b) = (max(window.0, start), min(window.1, end))
            return a < b ? (a, b) : nil
        }.sorted { $0.0 < $1.0 }
        var total = 0.0
        var current: (Date, Date)?
        for window in clipped {
            if let open = current, window.0 <= open.1 {
                current = (open.0, max(open.1, window.1))
            } else {
                if let open = current { total += open.1.timeIntervalSince(open.0) }
                current = window
            }
        }
        if let open = current { total += open.1.timeIntervalSince(open.0) }
        return total
    }
}
