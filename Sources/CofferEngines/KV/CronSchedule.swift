public import Foundation

/// A cron schedule in UTC: five fields, `minute hour day-of-month month day-of-week`, each `*`, a number,
/// a range `a-b`, a list `a,b`, or a step `*/n` / `a-b/n`; day of week 0–7 (0 and 7 are Sunday). As in
/// Vixie cron, when both day fields are restricted, a day matching either one matches. `@daily`,
/// `@weekly`, `@monthly`, `@hourly` are accepted.
public struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
    public let description: String
    private let minutes: Set<Int>, hours: Set<Int>, days: Set<Int>, months: Set<Int>, weekdays: Set<Int>
    private let daysRestricted: Bool, weekdaysRestricted: Bool

    /// - Throws: ``CronSchedule/ParseError`` naming the field that is wrong.
    public init(_ text: String) throws {
        let aliases = [
            "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *"
        ]
        let expanded = aliases[text.trimmingCharacters(in: .whitespaces)] ?? text
        let fields = expanded.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard fields.count == 5 else {
            throw ParseError(
                "a schedule has five fields, minute hour day-of-month month day-of-week (UTC), such as \"0 3 * * 1\"; \"\(text)\" "
                    + "has \(fields.count)"
            )
        }
        description = text
        minutes = try Self.field(fields[0], name: "minute", 0...59)
        hours = try Self.field(fields[1], name: "hour", 0...23)
        days = try Self.field(fields[2], name: "day of month", 1...31)
        months = try Self.field(fields[3], name: "month", 1...12)
        weekdays = Set(try Self.field(fields[4], name: "day of week", 0...7).map { $0 % 7 })
        daysRestricted = fields[2] != "*"
        weekdaysRestricted = fields[4] != "*"
    }

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The first matching minute strictly after `date` (within five years; `nil` for a schedule that never
    /// matches, such as 30 February).
    public func next(after date: Date) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard var time = calendar.date(bySetting: .second, value: 0, of: date.addingTimeInterval(60)) else { return nil }
        if time <= date { time = time.addingTimeInterval(60) }
        let limit = date.addingTimeInterval(5 * 366 * 86_400)
        while time < limit {
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: time)
            guard let month = parts.month, let day = parts.day, let hour = parts.hour, let minute = parts.minute,
                let weekday = parts.weekday
            else { return nil }
            if !months.contains(month) {
                time = calendar.date(from: DateComponents(year: parts.year, month: month + 1, day: 1)) ?? limit
                continue
            }
            if !dayMatches(day: day, weekday: weekday - 1) {
                time = calendar.date(from: DateComponents(year: parts.year, month: month, day: day + 1)) ?? limit
                continue
            }
            if !hours.contains(hour) {
                time = calendar.date(from: DateComponents(year: parts.year, month: month, day: day, hour: hour + 1)) ?? limit
                continue
            }
            if !minutes.contains(minute) {
                time = time.addingTimeInterval(60)
                continue
            }
            return time
        }
        return nil
    }

    private func dayMatches(day: Int, weekday: Int) -> Bool {
        switch (daysRestricted, weekdaysRestricted) {
        case (true, true): days.contains(day) || weekdays.contains(weekday)
        case (true, false): days.contains(day)
        case (false, true): weekdays.contains(weekday)
        case (false, false): true
        }
    }

    private static func field(_ text: String, name: String, _ range: ClosedRange<Int>) throws -> Set<Int> {
        var values = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw ParseError("the \(name) field \"\(text)\" has more than one '/'") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else {
                    throw ParseError("the \(name) field \"\(text)\" has a step that is not a positive number")
                }
                step = parsed
            }
            let span: ClosedRange<Int>
            if pieces[0] == "*" {
                span = range
            } else {
                let bounds = pieces[0].split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
                guard let low = bounds.first ?? nil, bounds.count <= 2,
                    let high = bounds.count == 2 ? bounds[1] : (pieces.count == 2 ? range.upperBound : low),
                    range.contains(low), range.contains(high), low <= high
                else {
                    throw ParseError(
                        "the \(name) field \"\(text)\" is not a number, range or list within \(range.lowerBound)-\(range.upperBound)")
                }
                span = low...high
            }
            values.formUnion(stride(from: span.lowerBound, through: span.upperBound, by: step))
        }
        return values
    }
}
