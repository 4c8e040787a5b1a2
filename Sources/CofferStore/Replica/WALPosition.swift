/// A position in PostgreSQL's write-ahead log (an LSN, written `16/B374D848`): where a commit ended on the
/// primary, and how far a standby has replayed. The consistency index a write's answer carries
/// (`X-Vault-Index`) is one; a read that presents it is served from a standby only once the standby has
/// replayed that far.
public struct WALPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The LSN as one 64-bit number (PostgreSQL's `pg_lsn`).
    public let value: UInt64

    public init(value: UInt64) {
        self.value = value
    }

    /// Parses PostgreSQL's text form, two hexadecimal halves (`16/B374D848`); `nil` for anything else.
    public init?(_ text: some StringProtocol) {
        let halves = text.split(separator: "/", omittingEmptySubsequences: false)
        guard halves.count == 2, halves.allSatisfy({ (1...8).contains($0.count) && $0.allSatisfy(\.isHexDigit) }),
            let high = UInt64(halves[0], radix: 16), let low = UInt64(halves[1], radix: 16)
        else { return nil }
        value = high << 32 | low
    }

    public var description: String {
        String(value >> 32, radix: 16, uppercase: true) + "/" + String(value & 0xFFFF_FFFF, radix: 16, uppercase: true)
    }

    public static func < (lhs: WALPosition, rhs: WALPosition) -> Bool { lhs.value < rhs.value }
}
