public import CofferFoundation
import Foundation

/// The id of the request being answered, for the `request_id` of Vault's envelope: the same id as the
/// `X-Request-Id` header and the service's log lines. Set by ``NoStoreMiddleware`` around every request.
public enum RequestScope {
    @TaskLocal public static var id = ""

    /// ``id`` as a JSON string literal.
    public static var idJSON: String {
        (try? JSONEncoder().encode(id)).map { String(decoding: $0, as: UTF8.self) } ?? #""""#
    }
}

/// Vault's response envelope around an answer's `data` (and, for a wrapped answer, `wrap_info` instead).
/// `request_id` is the request's id (``RequestScope``), as in the `X-Request-Id` header.
public struct VaultEnvelope<D: Encodable>: Encodable {
    public let request_id = RequestScope.id
    public let lease_id = ""
    public let renewable = false
    public let lease_duration = 0
    @EncodesNull public var data: D?
    @EncodesNull public var wrap_info: WrapInfo?
    @EncodesNull public var warnings: [String]?
    @EncodesNull public var auth: NoData? = nil

    public init(data: D?, wrapInfo: WrapInfo? = nil, warnings: [String]? = nil) {
        self.data = data
        self.wrap_info = wrapInfo
        self.warnings = warnings
    }

    /// `wrap_info` of a wrapped answer (hvac reads `token` from it).
    public struct WrapInfo: Encodable {
        public let token: String
        public let accessor: String
        public let ttl: Int64
        public let creation_time: String
        public let creation_path: String
        /// The accessor of a token the wrapped answer creates; absent otherwise, as in Vault.
        public let wrapped_accessor: String?
    }

    /// The envelope's text up to `"data":`, for answers whose data is written from guarded memory.
    public static var prefix: String { prefix(leaseDuration: 0) }

    /// As ``prefix``, with a `lease_duration` (a KV version 1 secret's `ttl`).
    public static func prefix(leaseDuration: Int64) -> String {
        #"{"auth":null,"lease_duration":\#(leaseDuration),"lease_id":"","renewable":false,"request_id":"# + RequestScope.idJSON
            + #","warnings":null,"wrap_info":null,"data":"#
    }
    public static var suffix: String { "}" }
}

/// Vault's older `sys/` answers (`sys/policy`, `sys/key-status`): the fields at the top level, for older
/// clients, and again under `data` in the usual envelope, which hvac reads.
public struct FlatEnvelope<D: Encodable>: Encodable {
    public let fields: D

    /// `fields` at the top level and again under `data`.
    public init(fields: D) { self.fields = fields }

    public func encode(to encoder: any Encoder) throws {
        try fields.encode(to: encoder)
        try VaultEnvelope(data: fields).encode(to: encoder)
    }
}

/// An envelope with no data.
public struct NoData: Encodable {
    /// The empty object.
    public init() {}
}
