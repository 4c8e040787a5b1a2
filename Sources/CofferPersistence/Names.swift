import CofferAccess
import CofferCredentials
import CofferStore
import Foundation

/// The names the suite's modules accept (models, aliases, feature sets, features, entities, cache
/// namespaces): checked once here, with errors that say what a valid one looks like.
enum Names {
    /// Letters, digits, `.`, `_`, `-`, starting with a letter or digit, 1–128 characters: safe in a URL
    /// segment, a file name and a policy path.
    static func check(_ name: String, what: String, maxLength: Int = 128) throws {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= maxLength, isWordStart(bytes[0]),
              bytes.allSatisfy({ isWordStart($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        else {
            throw AccessError(.invalidRequest, "\(what) must be 1 to \(maxLength) letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
    }

    private static func isWordStart(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

extension SQLQuery {
    /// `$1, $2, …` for `values`, for an `IN (…)` list.
    static func list(_ values: [String]) -> SQLQuery {
        var query: SQLQuery = ""
        for (index, value) in values.enumerated() {
            if index > 0 { query.append(", ") }
            query.append("\(value)")
        }
        return query
    }
}

enum JSONText {
    /// `value` as compact JSON with sorted keys (what the tables store).
    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }

    /// A file of definitions (health checks, alert rules), with an error naming the field that does not parse.
    /// - Throws: ``SuiteError`` `.invalid` "the `what` does not parse: …".
    static func decodeFile<T: Decodable>(_ type: T.Type, _ data: Data, what: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw SuiteError(.invalid, "the \(what) does not parse: \((context.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: ".")) is missing")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw SuiteError(.invalid, "the \(what) does not parse: \(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type")
        } catch let DecodingError.dataCorrupted(context) {
            throw SuiteError(.invalid, "the \(what) does not parse: \(context.codingPath.isEmpty ? "malformed JSON" : context.codingPath.map(\.stringValue).joined(separator: ".") + " is not one of the allowed values")")
        }
    }
}
