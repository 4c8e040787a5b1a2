public import struct Foundation.Date

extension Date {
    /// The times Coffer accepts, stores and answers: years 0001 through 9999 UTC. RFC 3339 writes four-digit
    /// years, both backends hold every time in it, and its microseconds since 1970 fit an `Int64` with room to
    /// spare. A time from a client outside it (`"until": 5e16` as Unix seconds) is refused where it is read.
    /// The lower bound is 0001-01-01 as Foundation's RFC 3339 parser reads it: it counts years before 1582 in the
    /// Julian calendar, two days before the proleptic Gregorian year 1.
    public static let storableRange: ClosedRange<Date> =
        Date(timeIntervalSince1970: -62_135_769_600)...Date(timeIntervalSince1970: 253_402_300_799.999)

    /// Whether this time is in ``storableRange``.
    public var isStorable: Bool { Self.storableRange.contains(self) }
}
