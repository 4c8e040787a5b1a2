import Foundation
public import Hummingbird
public import NIOCore

/// Request bodies: JSON of a known shape, read up to the context's limit, with errors that say which
/// field was wrong (never its value).
public enum Body {
    public static func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: CofferRequestContext) async throws -> T {
        try decode(type, try await request.body.collect(upTo: context.maxUploadSize))
    }

    /// `nil` for an empty body, or a JSON `null` (Vault's endpoints whose parameters are all optional; Vault's
    /// CLI sends `null` for `write -f`).
    public static func decodeIfPresent<T: Decodable>(_ type: T.Type, _ request: Request, _ context: CofferRequestContext) async throws -> T?
    {
        let buffer = try await request.body.collect(upTo: context.maxUploadSize)
        return isAbsent(buffer) ? nil : try decode(type, buffer)
    }

    /// An empty body, or one that is only JSON `null`: no parameters.
    /// Looks at the ends of the body in place: a body is often a secret, and is never copied to be checked.
    public static func isAbsent(_ buffer: ByteBuffer) -> Bool {
        let bytes = buffer.readableBytesView
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return true
        }
        return bytes[first...last].elementsEqual("null".utf8)
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
        // No parameters at all reads as an empty object, so a request whose fields are all optional is not refused.
        let buffer = isAbsent(buffer) ? ByteBuffer(string: "{}") : buffer
        do {
            return try WeakJSONDecoder().decode(T.self, from: buffer.readableBytesView)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.badRequest, "the request body is not the JSON this endpoint takes: \(describe(error))")
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "\(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type (\(context.debugDescription))"
        case DecodingError.keyNotFound(let key, _):
            return "\(key.stringValue) is missing"
        case DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty:
            return "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        default:
            return "malformed JSON"
        }
    }
}

/// A list given as a JSON list or a comma-separated string (Vault takes both: policies, CIDRs, allowed_roles).
public struct StringList: Decodable {
    public let items: [String]

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let list = try? container.decode([String].self) {
            items = list
        } else {
            items = try container.decode(String.self).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
        }
    }
}

/// SQL statements given as one string or a list of strings (Vault takes both; a string is never split, since
/// a statement may hold commas).
public struct Statements: Decodable {
    public let values: [String]

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let list = try? container.decode([String].self) {
            values = list
        } else {
            let text = try container.decode(String.self)
            values = text.isEmpty ? [] : [text]
        }
    }
}

/// A duration as Vault takes it: integer seconds, or a string such as `"90"`, `"90s"`, `"30m"`, `"1h30m"`, `"768h"`.
public struct DurationValue: Decodable, Sendable, Equatable {
    public let text: String

    public init(_ text: String) { self.text = text }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Int64.self) { text = String(seconds) } else { text = try container.decode(String.self) }
    }
}

extension Duration {
    /// Seconds in `value`.
    /// - Throws: ``APIError`` 400 naming `field` for anything that is not a duration.
    public static func seconds(of value: DurationValue, field: String) throws -> Int64 {
        let text = value.text.trimmingCharacters(in: .whitespaces)
        if let seconds = Int64(text), seconds >= 0 { return seconds }
        var total: Int64 = 0, number: Int64?
        for character in text {
            if let digit = character.wholeNumberValue, character.isASCII {
                let (times, overflow1) = (number ?? 0).multipliedReportingOverflow(by: 10)
                let (next, overflow2) = times.addingReportingOverflow(Int64(digit))
                guard !overflow1, !overflow2 else { throw invalid(field, value) }
                number = next
                continue
            }
            guard let amount = number else { throw invalid(field, value) }
            let unit: Int64 =
                switch character {
                case "s": 1
                case "m": 60
                case "h": 3600
                case "d": 86_400
                default: throw invalid(field, value)
                }
            let (part, overflow) = amount.multipliedReportingOverflow(by: unit)
            guard !overflow, total <= Int64.max - part else { throw invalid(field, value) }
            total += part
            number = nil
        }
        guard number == nil, !text.isEmpty else { throw invalid(field, value) }
        return total
    }

    private static func invalid(_ field: String, _ value: DurationValue) -> APIError {
        APIError(.badRequest, "\(field) must be a duration such as 3600, \"90s\", \"30m\" or \"1h30m\"")
    }
}
