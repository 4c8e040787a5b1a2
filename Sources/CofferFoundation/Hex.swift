/// Lowercase hex, as Coffer writes digests, tags, ids and keys; decoding accepts either case.
///
/// Both directions are on hot paths (PostgreSQL returns every `bytea` column as hex, the audit writer encodes
/// hashes), and this module is imported by the others, so the work is done in non-generic functions over
/// contiguous bytes: an unspecialised generic across the module boundary walked each digit through witness
/// tables and cost a PostgreSQL KV read about 60 µs (Docs/BENCHMARKS.md, "The hex decoder").
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// `bytes` as two lowercase hex digits each.
    public static func encode(_ bytes: [UInt8]) -> String {
        digits.withUnsafeBufferPointer { digits in
            String(unsafeUninitializedCapacity: bytes.count * 2) { out in
                for (i, byte) in bytes.enumerated() {
                    out[2 &* i] = digits[Int(byte >> 4)]
                    out[2 &* i &+ 1] = digits[Int(byte & 0xf)]
                }
                return bytes.count * 2
            }
        }
    }

    /// The bytes `text` spells, or nil when it is not an even number of hex digits.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// The bytes the hex digits `digits` spell (UTF-8), or nil when they are not an even number of hex digits.
    public static func decode(utf8 digits: UnsafeRawBufferPointer) -> [UInt8]? {
        guard digits.count % 2 == 0 else { return nil }
        let count = digits.count / 2
        var valid = true
        let out = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            for i in 0..<count {
                guard let high = nibble(digits[2 &* i]), let low = nibble(digits[2 &* i &+ 1]) else {
                    valid = false
                    return
                }
                out[i] = high << 4 | low
                initialized = i + 1
            }
        }
        return valid ? out : nil
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c &- UInt8(ascii: "A") &+ 10
        default: nil
        }
    }
}
