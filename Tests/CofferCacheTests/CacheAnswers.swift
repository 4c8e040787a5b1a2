/// The cache's answers as a client reads them (the wire's field names).
enum Cache {
    /// `GET coffer/cache/entries/<namespace>/<key>`.
    struct Entry: Decodable {
        let value: String
        let source: String
        /// `null` for an entry that never expires.
        let expiresTime: String?

        enum CodingKeys: String, CodingKey {
            case value, source
            case expiresTime = "expires_time"
        }
    }

    /// `coffer/cache/stats/<namespace>`.
    struct Statistics: Decodable {
        let hits: Int
        let misses: Int
        let entries: Int
        let bytes: Int
    }
}
