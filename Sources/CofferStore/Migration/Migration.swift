import CSodium
import CofferFoundation

/// A migration file as read from disk or embedded at build time: `NNNN_name.sql` and its text.
public struct MigrationFile: Sendable {
    public let fileName: String
    public let sql: String

    public init(fileName: String, sql: String) {
        self.fileName = fileName
        self.sql = sql
    }
}

/// One forward-only schema step: `Migrations/<dialect>/NNNN_name.sql`.
public struct Migration: Sendable, Equatable {
    /// The `NNNN` of the file name; migrations apply in this order, with no gaps.
    public let number: Int
    /// The `name` part of the file name.
    public let name: String
    public let sql: String
    /// SHA-256 of the file's bytes, hex: recorded when applied, checked on every start-up.
    public let checksum: String
    /// `Migrations/<dialect>/<file>`, for error messages.
    public let path: String
    /// `NNNN_name`, as operators see it.
    public var label: String { migrationNumber(number) + "_" + name }

    init(number: Int, name: String, sql: String, path: String) {
        self.number = number
        self.name = name
        self.sql = sql
        self.path = path
        self.checksum = Self.sha256Hex(sql)
    }

    static func sha256Hex(_ text: String) -> String {
        var digest = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        let bytes = Array(text.utf8)
        _ = crypto_hash_sha256(&digest, bytes, UInt64(bytes.count))
        return Hex.encode(digest)
    }
}
