import CofferCrypto
import CofferFoundation
import CofferStore
import Foundation

/// A `keyring` row: one data key term, sealed under the root key.
struct KeyringRecord: Sendable, SQLRowDecodable {
    let term: Int64
    let status: Keyring.Status
    let createdAt: Date
    let box: AEAD.Box

    /// The columns of `keyring`.
    enum Column: String, SQLColumn { case term, status, nonce, ciphertext, createdAt = "created_at" }

    init(row: SQLRow) throws {
        guard let status = Keyring.Status(rawValue: try row.decode(Column.status)) else {
            throw KeysError(.tampered, "the keyring holds an unknown status")
        }
        self.status = status
        term = try row.decode(Column.term)
        createdAt = try row.decode(Column.createdAt)
        box = AEAD.Box(nonce: try row.decode(Column.nonce), ciphertext: try row.decode(Column.ciphertext))
    }
}

/// A `system_keys` row: a key for one purpose (token hashing, audit hashing…), sealed under the root key.
struct SystemKeyRecord: Sendable, SQLRowDecodable {
    let purpose: String
    let box: AEAD.Box

    /// The columns of `system_keys`.
    enum Column: String, SQLColumn { case purpose, nonce, ciphertext }

    init(row: SQLRow) throws {
        purpose = try row.decode(Column.purpose)
        box = AEAD.Box(nonce: try row.decode(Column.nonce), ciphertext: try row.decode(Column.ciphertext))
    }
}

/// A `key_instances` row: which key term an instance seals under (its heartbeat is only filtered on).
struct KeyInstanceRecord: Sendable, SQLRecord {
    let id: String
    let term: Int64

    /// The columns of `key_instances` read for it.
    enum Column: String, SQLColumn, CodingKey { case id = "instance_id", term = "active_term" }
    typealias CodingKeys = Column
}
