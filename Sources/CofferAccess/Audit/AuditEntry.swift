public import Foundation

/// One audit entry before it is chained: what the Gate saw of a request or its response. Values that
/// could be secret are already `hmac:` hashes (``AuditHasher``); the token itself never appears, only
/// its accessor.
public struct AuditEntry: Sendable {
    public enum Kind: String, Sendable { case request, response }

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

    public init(kind: Kind, time: Date, requestID: String, accessor: String, displayName: String, path: String,
                operation: String, decision: String, status: Int, extra: [(String, String)]) {
        self.kind = kind
        self.time = time
        self.requestID = requestID
        self.accessor = accessor
        self.displayName = displayName
        self.path = path
        self.operation = operation
        self.decision = decision
        self.status = status
        fields = [("kind", kind.rawValue), ("request_id", requestID), ("accessor", accessor), ("display_name", displayName),
                  ("path", path), ("operation", operation), ("decision", decision), ("status", String(status))] + extra
    }

    /// Rebuilds an entry from stored fields (verification and export).
    init?(time: Date, fields: [(String, String)]) {
        func value(_ key: String) -> String? { fields.first { $0.0 == key }?.1 }
        guard let kind = value("kind").flatMap(Kind.init(rawValue:)), let requestID = value("request_id"), let accessor = value("accessor"),
            let displayName = value("display_name"), let path = value("path"), let operation = value("operation"),
            let decision = value("decision"), let status = value("status").flatMap(Int.init)
        else { return nil }
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
    }

    /// The fields as stored: a JSON array of `[key, value]` pairs (order kept).
    var encodedFields: String {
        String(decoding: (try? JSONEncoder().encode(fields.map { [$0.0, $0.1] })) ?? Data("[]".utf8), as: UTF8.self)
    }

    static func decodeFields(_ text: String) throws -> [(String, String)] {
        try JSONDecoder().decode([[String]].self, from: Data(text.utf8)).map { pair in
            guard pair.count == 2 else { throw AccessError(.invalidRequest, "an audit entry's fields are malformed") }
            return (pair[0], pair[1])
        }
    }
}
