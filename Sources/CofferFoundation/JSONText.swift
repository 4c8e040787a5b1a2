public import Foundation

/// JSON text: a hand-written string writer for hot paths (audit entries, KV answers), and compact,
/// key-sorted encoding for what the tables store.
public enum JSONText {
    private static let hex = Array("0123456789abcdef".utf8)

    /// Appends `text` as a JSON string: quotes, backslashes and control characters escaped (RFC 8259).
    public static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let utf8 = text.utf8
        // Most strings need no escape: copy them whole.
        if !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out.append(contentsOf: utf8)
        } else {
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""):
                    out.append(UInt8(ascii: "\\"))
                    out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"):
                    out.append(UInt8(ascii: "\\"))
                    out.append(UInt8(ascii: "\\"))
                case 0x0a:
                    out.append(UInt8(ascii: "\\"))
                    out.append(UInt8(ascii: "n"))
                case 0x0d:
                    out.append(UInt8(ascii: "\\"))
                    out.append(UInt8(ascii: "r"))
                case 0x09:
                    out.append(UInt8(ascii: "\\"))
                    out.append(UInt8(ascii: "t"))
                case 0..<0x20:
                    out.append(contentsOf: [
                        UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)],
                        hex[Int(byte & 0xf)]
                    ])
                default: out.append(byte)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `value` as compact JSON with sorted keys and unescaped slashes: stable text for what the tables store.
    public static func encode(_ value: some Encodable) throws -> String {
        String(decoding: try encodedData(value), as: UTF8.self)
    }

    /// ``encode(_:)`` as bytes.
    public static func encodedData(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    /// A file of definitions (health checks, alert rules), with an error naming the field that does not parse.
    /// - Throws: ``SuiteError`` `.invalid` "the `what` does not parse: …".
    public static func decodeFile<T: Decodable>(_ type: T.Type, _ data: Data, what: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw SuiteError(
                .invalid,
                """
                the \(what) does not parse: \((context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")) \
                is missing
                """
            )
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw SuiteError(
                .invalid, "the \(what) does not parse: \(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type")
        } catch let DecodingError.dataCorrupted(context) {
            let place = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw SuiteError(
                .invalid, "the \(what) does not parse: \(place.isEmpty ? "malformed JSON" : place + " is not one of the allowed values")")
        }
    }
}
