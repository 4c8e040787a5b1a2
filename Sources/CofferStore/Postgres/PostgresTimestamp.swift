/// Text form of `TIMESTAMPTZ` values as PostgreSQL reads and writes them with `DateStyle = ISO` and
/// `TimeZone = UTC` (set on every connection): `2026-11-25 13:06:21.123456+00`.
///
/// Hand-written rather than through a date formatter: it is on the path of every timestamp column,
/// and a fixed format needs no calendar machinery.
enum PostgresTimestamp {
    /// Formats whole microseconds since the Unix epoch.
    static func format(microseconds: Int64) -> String {
        let time = CivilTime(microsecondsSinceEpoch: microseconds)
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let clock = "\(pad(time.hour, 2)):\(pad(time.minute, 2)):\(pad(time.second, 2)).\(pad(time.microsecond, 6))"
        return time.year > 0
            ? "\(pad(time.year, 4))-\(pad(time.month, 2))-\(pad(time.day, 2)) \(clock)+00"
            : "\(pad(1 - time.year, 4))-\(pad(time.month, 2))-\(pad(time.day, 2)) \(clock)+00 BC"
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
            while digits < 6 {
                micros *= 10
                digits += 1
            }
            while digits > 6 {
                micros /= 10
                digits -= 1
            }
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
        let days = CivilTime.days(fromYear: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return seconds * 1_000_000 + micros
    }
}

extension UInt8 {
    fileprivate var digitValue: Int? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) ? Int(self - UInt8(ascii: "0")) : nil
    }
}
