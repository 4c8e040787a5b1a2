import CofferEngines
import Foundation
import Testing

/// Cron schedules for rotation: the next run time, Vixie cron's day rule, and refusals that name the field.
struct CronScheduleTests {
    static func utc(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test(arguments: [
        ("0 3 * * 1", "2026-11-25T10:00:00Z", "2026-11-30T03:00:00Z"), // Wednesday → Monday 03:00
        ("*/15 * * * *", "2026-11-25T10:07:30Z", "2026-11-25T10:15:00Z"),
        ("*/15 * * * *", "2026-11-25T10:15:00Z", "2026-11-25T10:30:00Z"), // strictly after
        ("0 0 1 * *", "2026-12-15T00:00:00Z", "2027-01-01T00:00:00Z"),
        ("0 12 13 * 5", "2026-11-25T00:00:00Z", "2026-11-27T12:00:00Z"), // the 13th or a Friday: Friday comes first
        ("30 4 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T04:30:00Z"), // the next leap day
        ("@daily", "2026-11-25T23:59:00Z", "2026-11-26T00:00:00Z"),
        ("0 9-17/4 * * 0,7", "2026-11-25T00:00:00Z", "2026-11-29T09:00:00Z") // 0 and 7 are Sunday
    ])
    func nextRun(schedule: String, after: String, expected: String) throws {
        #expect(try CronSchedule(schedule).next(after: Self.utc(after)) == Self.utc(expected))
    }

    @Test func neverMatching() throws {
        #expect(try CronSchedule("0 0 30 2 *").next(after: Self.utc("2026-01-01T00:00:00Z")) == nil)
    }

    @Test(arguments: [
        ("61 * * * *", "minute"), ("* 24 * * *", "hour"), ("* * 0 * *", "day of month"), ("* * * 13 *", "month"),
        ("* * * * 8", "day of week"), ("*/0 * * * *", "minute"), ("* * *", "five fields"), ("a * * * *", "minute"),
        ("5-1 * * * *", "minute")
    ])
    func refused(schedule: String, names: String) {
        #expect {
            try CronSchedule(schedule)
        } throws: { error in
            "\(error)".contains(names)
        }
    }

    /// Against a reference: step minute by minute and take the first that every field allows.
    @Test func matchesMinuteByMinuteReference() throws {
        var generator = SystemRandomNumberGenerator()
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for _ in 0..<40 {
            let minute = [String(Int.random(in: 0...59, using: &generator)), "*/\(Int.random(in: 1...30, using: &generator))", "*"]
                .randomElement(using: &generator)!
            let hour = [
                String(Int.random(in: 0...23, using: &generator)), "*",
                "\(Int.random(in: 0...11, using: &generator))-\(Int.random(in: 12...23, using: &generator))"
            ].randomElement(using: &generator)!
            let day = ["*", String(Int.random(in: 1...28, using: &generator))].randomElement(using: &generator)!
            let weekday = ["*", String(Int.random(in: 0...6, using: &generator))].randomElement(using: &generator)!
            let text = "\(minute) \(hour) \(day) * \(weekday)"
            let schedule = try CronSchedule(text)
            let start = Self.utc("2026-11-25T10:00:00Z").addingTimeInterval(Double(Int.random(in: 0...86_400 * 30, using: &generator)))
            let fields = text.split(separator: " ").map(String.init)
            func allows(_ field: String, _ value: Int) -> Bool {
                if field == "*" { return true }
                if field.hasPrefix("*/") { return value % Int(field.dropFirst(2))! == 0 }
                if let dash = field.firstIndex(of: "-") {
                    return Int(field[..<dash])! <= value && value <= Int(field[field.index(after: dash)...])!
                }
                return Int(field)! == value
            }
            var reference: Date?
            var time = calendar.date(bySetting: .second, value: 0, of: start.addingTimeInterval(60))!
            for _ in 0..<(60 * 24 * 70) {
                let parts = calendar.dateComponents([.minute, .hour, .day, .weekday], from: time)
                let dayOK =
                    switch (fields[2] != "*", fields[4] != "*") {
                    case (true, true): allows(fields[2], parts.day!) || allows(fields[4], parts.weekday! - 1)
                    default: allows(fields[2], parts.day!) && allows(fields[4], parts.weekday! - 1)
                    }
                if allows(fields[0], parts.minute!) && allows(fields[1], parts.hour!) && dayOK {
                    reference = time
                    break
                }
                time = time.addingTimeInterval(60)
            }
            if let reference { #expect(schedule.next(after: start) == reference, "\(text) after \(start)") }
        }
    }
}
