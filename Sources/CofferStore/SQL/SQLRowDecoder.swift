import CofferFoundation

/// A record read by Swift's own decoding: it declares its fields, and its `Column` enum (a ``SQLColumn`` that is
/// also its `CodingKey`, `typealias CodingKeys = Column`) names the column each is read from, so the compiler
/// writes `init(from:)` and this protocol turns it into ``SQLRowDecodable/init(row:)``. Every field's type is
/// ``SQLDecodable`` (an optional for a nullable column); a record whose field is derived from its column (JSON text
/// parsed, a stored status read leniently) writes `init(row:)` by hand instead.
///
/// ```swift
/// struct RotationLock: SQLRecord {
///     let holder: String
///     let expiresAt: Date
///     enum Column: String, SQLColumn, CodingKey { case holder, expiresAt = "expires_at" }
///     typealias CodingKeys = Column
/// }
/// ```
public protocol SQLRecord: SQLRowDecodable, Decodable {
    associatedtype Column: SQLColumn, CodingKey
}

extension SQLRecord {
    /// Reads each field from its column's place in the select list (``SQLColumn/position``).
    public init(row: SQLRow) throws {
        try self.init(from: SQLRowDecoder<Column>(row: row))
    }
}

/// Decodes one record from a row: a keyed container whose keys are the record's columns, each read by position.
/// Only what a synthesized `init(from:)` of a flat record asks for is supported; anything else is a
/// `.typeMismatch` naming the field.
struct SQLRowDecoder<Column: SQLColumn & CodingKey>: Decoder {
    let row: SQLRow
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Columns<Key>(row: row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw StoreError(.typeMismatch, "a record is read by its columns, not as a list")
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw StoreError(.typeMismatch, "a record is read by its columns, not as one value")
    }

    /// The record's columns: each key is a case of `Column`, read at its position.
    struct Columns<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let row: SQLRow
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { Column.allCases.compactMap { Key(stringValue: $0.rawValue) } }

        func contains(_ key: Key) -> Bool { Column(rawValue: key.stringValue) != nil }

        private func position(_ key: Key) throws -> Int {
            guard let column = Column(rawValue: key.stringValue) else {
                throw StoreError(.noSuchColumn, "the record has no column \(key.stringValue)")
            }
            return column.position
        }

        func decodeNil(forKey key: Key) throws -> Bool {
            try row.decode(SQLValue.self, at: try position(key)) == .null
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            guard let decodable = T.self as? any SQLDecodable.Type else {
                throw StoreError(.typeMismatch, "the field for column \(key.stringValue) is a \(T.self), which is not read from SQL")
            }
            return try read(decodable, at: try position(key))
        }

        private func read<D: SQLDecodable, T>(_ type: D.Type, at position: Int) throws -> T {
            // `D` is `T` (the cast above found it): the value is returned as the type asked for.
            guard let value = try row.decode(D.self, at: position) as? T else {
                throw StoreError(.typeMismatch, "column \(position) did not read as \(T.self)")
            }
            return value
        }

        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try row.decode(type, at: try position(key)) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try row.decode(type, at: try position(key)) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try row.decode(type, at: try position(key)) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try row.decode(type, at: try position(key)) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try row.decode(type, at: try position(key)) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try row.decode(type, at: try position(key)) }

        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { throw unsupported(type, key) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { throw unsupported(type, key) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { throw unsupported(type, key) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { throw unsupported(type, key) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { throw unsupported(type, key) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { throw unsupported(type, key) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { throw unsupported(type, key) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { throw unsupported(type, key) }

        private func unsupported(_ type: Any.Type, _ key: Key) -> StoreError {
            StoreError(.typeMismatch, "the field for column \(key.stringValue) is a \(type), which is not read from SQL")
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            throw unsupported(type, key)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { throw unsupported([Any].self, key) }
        func superDecoder() throws -> any Decoder { throw StoreError(.typeMismatch, "a record has no superclass to read") }
        func superDecoder(forKey key: Key) throws -> any Decoder { throw unsupported(Any.self, key) }
    }
}
