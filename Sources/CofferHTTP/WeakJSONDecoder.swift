import CofferFoundation
import Foundation

/// Decodes a request body the way Vault reads request fields: weakly (Go's mapstructure `WeakDecode`, which
/// Vault's request framework uses), so clients that send `"options": {"version": 2}`, `"ttl": "3600"`,
/// `"renewable": "true"` or `"policies": "a,b"` are understood as Vault understands them. Every route's body goes
/// through it (``Body``), so the rule is one rule.
///
/// | asked for | also accepted |
/// |---|---|
/// | `Bool` | `1`/`0` (any non-zero number is true), Go's `ParseBool` strings (`"true"`, `"t"`, `"1"`, `"FALSE"`, …), `""` (false) |
/// | integers | a number without a fraction, a string holding one, `true`/`false` (1/0) |
/// | `Double` | an integer, a string holding a number |
/// | `String` | a number (its decimal text), `true`/`false` (`"1"`/`"0"`) |
/// | a list | a comma-separated string (`"a, b"`), a single value (a one-element list) |
///
/// A secret's own data (``JSONValue``) is never converted: it is taken exactly as sent. What cannot be converted
/// is a `DecodingError` naming the field, which ``Body`` answers with a 400.
struct WeakJSONDecoder {
    func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        guard let tree = JSONValue.parse(bytes) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "malformed JSON"))
        }
        return try WeakValueDecoder(value: tree, codingPath: []).decodeValue(T.self)
    }
}

/// One value of the tree being decoded.
private struct WeakValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else { throw mismatch([String: JSONValue].self) }
        return KeyedDecodingContainer(Keyed<Key>(object: object, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        switch value {
        case .array(let items): return Unkeyed(items: items, codingPath: codingPath)
        case .string(let text):
            // Vault's comma-separated lists.
            let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return Unkeyed(items: items.map(JSONValue.string), codingPath: codingPath)
        case .null, .object: throw mismatch([JSONValue].self)
        default: return Unkeyed(items: [value], codingPath: codingPath)
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(decoder: self) }

    func mismatch(_ type: Any.Type) -> DecodingError {
        .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "expected \(type), found \(value.kindName)"))
    }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        // A secret's data and other free-form JSON stay exactly as sent.
        if T.self == JSONValue.self, let same = value as? T { return same }
        if T.self == Bool.self, let bool = try bool() as? T { return bool }
        if T.self == String.self, let text = try string() as? T { return text }
        if T.self == Double.self, let number = try double() as? T { return number }
        // Every standard integer type (a primitive's own init(from:) would ask this decoder again for itself).
        if let integer = T.self as? any FixedWidthInteger.Type {
            guard let number = integer.init(exactly: try self.integer()) as? T else { throw mismatch(T.self) }
            return number
        }
        if T.self == Float.self, let number = Float(try double()) as? T { return number }
        return try T(from: self)
    }

    func bool() throws -> Bool {
        switch value {
        case .bool(let bool): return bool
        case .integer(let number): return number != 0
        case .number(let number): return number != 0
        case .string(let text):
            switch text {
            case "1", "t", "T", "true", "TRUE", "True": return true
            case "0", "f", "F", "false", "FALSE", "False", "": return false
            default: throw mismatch(Bool.self)
            }
        default: throw mismatch(Bool.self)
        }
    }

    func integer() throws -> Int64 {
        switch value {
        case .integer(let number): return number
        case .number(let number): if let exact = Int64(exactly: number) { return exact }
        case .bool(let bool): return bool ? 1 : 0
        case .string(let text): if let number = Int64(text.trimmingCharacters(in: .whitespaces)) { return number }
        default: break
        }
        throw mismatch(Int64.self)
    }

    func double() throws -> Double {
        switch value {
        case .integer(let number): return Double(number)
        case .number(let number): return number
        case .string(let text): if let number = Double(text.trimmingCharacters(in: .whitespaces)), number.isFinite { return number }
        default: break
        }
        throw mismatch(Double.self)
    }

    func string() throws -> String {
        switch value {
        case .string(let text): return text
        case .integer(let number): return String(number)
        case .number(let number): return number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .bool(let bool): return bool ? "1" : "0"
        default: throw mismatch(String.self)
        }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let object: [String: JSONValue]
        let codingPath: [any CodingKey]
        var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

        func child(_ key: Key) throws -> WeakValueDecoder {
            guard let value = object[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "\(key.stringValue) is missing"))
            }
            return WeakValueDecoder(value: value, codingPath: codingPath + [key])
        }

        func decodeNil(forKey key: Key) throws -> Bool { object[key.stringValue].map { $0 == .null } ?? true }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decodeValue(T.self) }
        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<
            NestedKey
        > {
            try child(key).container(keyedBy: type)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try child(key).unkeyedContainer() }
        func superDecoder() throws -> any Decoder { WeakValueDecoder(value: .object(object), codingPath: codingPath) }
        func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let items: [JSONValue]
        let codingPath: [any CodingKey]
        var currentIndex = 0
        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }

        init(items: [JSONValue], codingPath: [any CodingKey]) {
            self.items = items
            self.codingPath = codingPath
        }

        mutating func next() throws -> WeakValueDecoder {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(JSONValue.self, .init(codingPath: codingPath, debugDescription: "no more items"))
            }
            defer { currentIndex += 1 }
            return WeakValueDecoder(value: items[currentIndex], codingPath: codingPath + [Index(currentIndex)])
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, items[currentIndex] == .null else { return false }
            currentIndex += 1
            return true
        }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(T.self) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try next().container(keyedBy: type)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
        mutating func superDecoder() throws -> any Decoder { try next() }
    }

    struct Single: SingleValueDecodingContainer {
        let decoder: WeakValueDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }
        func decodeNil() -> Bool { decoder.value == .null }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(T.self) }
    }

    struct Index: CodingKey {
        let intValue: Int?
        var stringValue: String { String(intValue ?? 0) }
        init(_ index: Int) { intValue = index }
        init?(stringValue: String) { nil }
        init?(intValue: Int) { self.intValue = intValue }
    }
}

private extension JSONValue {
    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .number: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        }
    }
}
