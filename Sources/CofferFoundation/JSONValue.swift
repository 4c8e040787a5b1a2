public import Foundation

/// A JSON value as a secret's data holds it. Decoding keeps `true` and `1` apart and integers exact, which
/// Foundation's `JSONSerialization` does not promise on Linux.
public enum JSONValue: Sendable, Equatable, Codable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// RFC 7386 JSON merge patch: `null` removes a key, objects merge recursively, anything else replaces.
    public func merging(patch: JSONValue) -> JSONValue {
        guard case .object(let changes) = patch else { return patch }
        var result: [String: JSONValue]
        if case .object(let current) = self { result = current } else { result = [:] }
        for (key, change) in changes {
            if change == .null {
                result[key] = nil
            } else {
                result[key] = (result[key] ?? .null).merging(patch: change)
            }
        }
        return .object(result)
    }

    /// The keys without their values (KV v2 `subkeys`): leaves become `null`, objects nest down to `depth`
    /// levels (0 = no limit).
    public func subkeys(depth: Int) -> JSONValue {
        guard case .object(let object) = self else { return .null }
        var result: [String: JSONValue] = [:]
        for (key, value) in object {
            if case .object = value, depth != 1 {
                result[key] = value.subkeys(depth: depth == 0 ? 0 : depth - 1)
            } else {
                result[key] = .null
            }
        }
        return .object(result)
    }

    /// Compact JSON with sorted keys (the form a secret's data is sealed in).
    public func encoded() throws -> Data {
        try JSONText.encodedData(self)
    }

    /// Parses JSON text; `nil` when it is not JSON.
    public static func parse(_ bytes: some Collection<UInt8>) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }
}
