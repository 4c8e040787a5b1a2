import CofferFoundation
public import Foundation

/// One audit entry before it is chained: what the Gate saw of a request or its response. Values that
/// could be secret are already `hmac:` hashes (``AuditHasher``); the token itself never appears, only
/// its accessor.
public struct AuditEntry: Sendable {
    public enum Kind: String, Sendable {
        case request, response
        /// A step inside a request (a rotation's create, set, test, finish), recorded before the response.
        case event
    }

    public let kind: Kind
    public let time: Date
    public let requestID: String
    public let accessor: String
    public let displayName: String
    public let path: String
    public let operation: String
    /// `allow`, `deny`, or `open` for the few paths that need no token.
    public let decision: String
    /// HTTP status (0 in a request entry).
    public let status: Int
    /// Every field, in a fixed order, including the ones above: this is what is hashed and stored.
    public let fields: [(String, String)]
    /// Encoded once, by the request's own task, so the serial writer only numbers and hashes.
    let canonicalBody: [UInt8]
    let encodedFields: String

    public init(
        kind: Kind, time: Date, requestID: String, accessor: String, displayName: String, path: String,
        operation: String, decision: String, status: Int, extra: [(String, String)]
    ) {
        self.init(
            kind: kind, time: time, requestID: requestID, accessor: accessor, displayName: displayName, path: path,
            operation: operation, decision: decision, status: status,
            fields: [
                ("kind", kind.rawValue), ("request_id", requestID), ("accessor", accessor), ("display_name", displayName),
                ("path", path), ("operation", operation), ("decision", decision), ("status", String(status))
            ] + extra)
    }

    /// Rebuilds an entry from stored fields (verification and export).
    init?(time: Date, fields: [(String, String)]) {
        func value(_ key: String) -> String? { fields.first { $0.0 == key }?.1 }
        guard let kind = value("kind").flatMap(Kind.init(rawValue:)), let requestID = value("request_id"), let accessor = value("accessor"),
            let displayName = value("display_name"), let path = value("path"), let operation = value("operation"),
            let decision = value("decision"), let status = value("status").flatMap(Int.init)
        else { return nil }
        self.init(
            kind: kind, time: time, requestID: requestID, accessor: accessor, displayName: displayName, path: path,
            operation: operation, decision: decision, status: status, fields: fields)
    }

    private init(
        kind: Kind, time: Date, requestID: String, accessor: String, displayName: String, path: String,
        operation: String, decision: String, status: Int, fields: [(String, String)]
    ) {
        self.kind = kind
        self.time = time
        self.requestID = requestID
        self.accessor = accessor
        self.displayName = displayName
        self.path = path
        self.operation = operation
        self.decision = decision
        self.status = status
        self.fields = fields
        canonicalBody = AuditRecord.canonicalBody(time: time, fields: fields)
        encodedFields = Self.encode(fields)
    }

    /// The fields as stored: a JSON array of `[key, value]` pairs (order kept). Written by hand: this runs
    /// for every entry, and Foundation's encoder was a sixth of the Gate's time in a profile.
    static func encode(_ fields: [(String, String)]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(fields.reduce(2) { $0 + $1.0.utf8.count + $1.1.utf8.count + 8 })
        out.append(UInt8(ascii: "["))
        for (index, (key, value)) in fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "["))
            JSONText.appendString(key, to: &out)
            out.append(UInt8(ascii: ","))
            JSONText.appendString(value, to: &out)
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    static func decodeFields(_ text: String) throws -> [(String, String)] {
        try JSONDecoder().decode([[String]].self, from: Data(text.utf8)).map { pair in
            guard pair.count == 2 else { throw AccessError(.invalidRequest, "an audit entry's fields are malformed") }
            return (pair[0], pair[1])
        }
    }
}
