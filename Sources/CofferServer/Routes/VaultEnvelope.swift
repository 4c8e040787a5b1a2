/// Vault's response envelope around an answer's `data` (and, for a wrapped answer, `wrap_info` instead).
/// The request's id travels in the `X-Request-Id` header; `request_id` stays empty, as Coffer's token
/// answers have always sent it.
struct VaultEnvelope<D: Encodable>: Encodable {
    let data: D?
    var wrapInfo: WrapInfo?

    init(data: D?, wrapInfo: WrapInfo? = nil) {
        self.data = data
        self.wrapInfo = wrapInfo
    }

    /// `wrap_info` of a wrapped answer (hvac reads `token` from it).
    struct WrapInfo: Encodable {
        let token: String
        let accessor: String
        let ttl: Int64
        let creation_time: String
        let creation_path: String
        let wrapped_accessor: String
    }

    /// The envelope's text up to `"data":`, for answers whose data is written from guarded memory.
    static var prefix: String {
        #"{"auth":null,"lease_duration":0,"lease_id":"","renewable":false,"request_id":"","warnings":null,"wrap_info":null,"data":"#
    }
    static var suffix: String { "}" }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("", forKey: .request_id)
        try container.encode("", forKey: .lease_id)
        try container.encode(false, forKey: .renewable)
        try container.encode(0, forKey: .lease_duration)
        try container.encode(data, forKey: .data)
        try container.encode(wrapInfo, forKey: .wrap_info)
        try container.encodeNil(forKey: .warnings)
        try container.encodeNil(forKey: .auth)
    }

    enum CodingKeys: String, CodingKey { case request_id, lease_id, renewable, lease_duration, data, wrap_info, warnings, auth }
}

/// An envelope with no data.
struct NoData: Encodable {}
