/// Text form of `TIMESTAMPTZ` values as PostgreSQL reads and writes them with `DateStyle = ISO` and
/// `TimeZone = UTC` (set on every connection): `2026-11-25 13:06:21.123456+00`.
///
/// Hand-written rather than through a date formatter: it is on the path of every timestamp column,
/// and a fixed format needs no calendar machinery.
enum PostgresTimestamp {
    /// Formats whole microseconds since the Unix epoch.
    static func format(microseconds: Int64) -> String {
        let (days, microsOfDay) = floorDivide(microseconds, 86_400_000_000)
        let (year, month, day) = civil(fromDays: days)
        let seconds = microsOfDay / 1_000_000
        let fraction = microsOfDay % 1_000_000
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let date = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
        let time = "\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(fraction, 6))"
        return year > 0 ? "\(date) \(time)+00" : "\(pad(1 - year, 4))-\(pad(month, 2))-\(pad(day, 2)) \(time)+00 BC"
    }

    /// Parses PostgreSQL's ISO output into microseconds since the epoch; `nil` for anything else
    /// (including `infinity`, which has no `Date`).
    static func parse(_ text: some Collection<UInt8>) -> Int64? {
        var bytes = Array(text)
        var bc = false
        if bytes.count > 3, bytes.suffix(3) == Array(" BC".utf8) {
            bc = true
            bytes.removeLast(3)
        }
        var index = 0
        func number(_ width: Int?) -> Int64? {
            var value: Int64 = 0
            var count = 0
            while index < bytes.count, let digit = bytes[index].digitValue, width.map({ count < $0 }) ?? true {
                value = value * 10 + Int64(digit)
                index += 1
                count += 1
            }
            return count == 0 ? nil : value
        }
        func expect(_ character: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == character else { return false }
            index += 1
            return true
        }
        guard var year = number(nil), expect(UInt8(ascii: "-")), let month = number(2), expect(UInt8(ascii: "-")),
            let day = number(2), expect(UInt8(ascii: " ")) || expect(UInt8(ascii: "T")),
            let hour = number(2), expect(UInt8(ascii: ":")), let minute = number(2), expect(UInt8(ascii: ":")),
            let second = number(2)
        else { return nil }
        var micros: Int64 = 0
        if expect(UInt8(ascii: ".")) {
            let start = index
            guard let fraction = number(nil) else { return nil }
            var digits = index - start
            micros = fraction
            while digits < 6 { micros *= 10; digits += 1 }
            while digits > 6 { micros /= 10; digits -= 1 }
        }
        var offsetSeconds: Int64 = 0
        if index < bytes.count {
            let sign: Int64
            if expect(UInt8(ascii: "+")) { sign = 1 } else if expect(UInt8(ascii: "-")) { sign = -1 } else { return nil }
            guard let offsetHours = number(2) else { return nil }
            var offset = offsetHours * 3600
            if expect(UInt8(ascii: ":")) { offset += (number(2) ?? 0) * 60 }
            if expect(UInt8(ascii: ":")) { offset += number(2) ?? 0 }
            offsetSeconds = sign * offset
        }
        guard index == bytes.count else { return nil }
        if bc { year = 1 - year }
        let days = days(fromYear: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return seconds * 1_000_000 + micros
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let quotient = value / divisor
        let remainder = value % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }

    /// Howard Hinnant's days-from-civil: days since 1970-01-01 in the proleptic Gregorian calendar.
    private static func days(fromYear year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse of ``days(fromYear:month:day:)``.
    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension UInt8 {
    fileprivate var digitValue: Int? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) ? Int(self - UInt8(ascii: "0")) : nil
    }
}
