import CofferEngines
import Foundation

/// Rotation schedules (`rotation_schedule` in KV metadata, static roles).
enum CronTarget {
    static let target = FuzzTarget(
        "cron",
        "cron schedules: parsed or refused naming the field; a parsed schedule's next run is strictly later, on a "
            + "whole minute, and the run after it is later still"
    ) { input throws(FuzzFinding) in
        guard input.count <= 200, let schedule = try? CronSchedule(input.text) else { return }
        let start = Date(timeIntervalSince1970: 1_800_000_000 + Double(input.count) * 86_399)
        guard let next = schedule.next(after: start) else { return }
        try require(next > start, "\(schedule): the next run \(next) is not after \(start)")
        try require(next.timeIntervalSince1970.truncatingRemainder(dividingBy: 60) == 0, "\(schedule): \(next) is not on a minute")
        if let after = schedule.next(after: next) {
            try require(after > next, "\(schedule): the run after \(next) is \(after)")
        }
    }
}
