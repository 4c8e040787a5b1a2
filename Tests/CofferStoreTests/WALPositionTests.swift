import CofferStore
import PropertyBased
import Testing

/// The consistency index a write answers with and a read presents back (`X-Vault-Index`): PostgreSQL's LSN text.
struct WALPositionTests {
    /// Any position prints as PostgreSQL does and parses back to itself, in either case; order is the LSN's.
    @Test func anyPositionRoundTripsAndOrdersByValue() async {
        let half = Gen<Int>.int(in: 0...0xFFFF_FFFF)
        await propertyCheck(count: 200, input: half, half, half, half) { high, low, otherHigh, otherLow in
            let position = WALPosition(value: UInt64(high) << 32 | UInt64(low))
            let other = WALPosition(value: UInt64(otherHigh) << 32 | UInt64(otherLow))
            #expect(WALPosition(position.description) == position)
            #expect(WALPosition(position.description.lowercased()) == position)
            #expect((position < other) == (position.value < other.value))
        }
    }

    @Test func postgresTextParses() {
        #expect(WALPosition("16/B374D848")?.value == 0x16_B374_D848)
        #expect(WALPosition("0/0")?.value == 0)
        #expect(WALPosition("FFFFFFFF/FFFFFFFF")?.value == UInt64.max)
    }

    /// Whatever is not exactly two 1–8 digit hexadecimal halves is refused, odd encodings included.
    @Test(arguments: [
        "", "/", "16", "16/", "/B3", "1/2/3", "123456789/0", "0/123456789", "+1/2", "-1/2", "0x1/2", " 1/2", "1/2 ", "1 /2",
        "1/2\r\n", "１/２", "1/٢", "g/1", "1/2;DROP", "1,2"
    ])
    func malformedTextIsRefused(_ text: String) {
        #expect(WALPosition(text) == nil)
    }
}
