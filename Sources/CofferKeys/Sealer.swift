public import CofferCrypto
import CofferFoundation

/// Where an encrypted value lives: its table, its record id and its version. The three are the
/// associated data of its encryption, so a ciphertext copied to another row, table or version fails to open.
public struct RecordBinding: Sendable, Equatable {
    public let table: String
    public let id: String
    public let version: Int64

    /// The encoded binding, computed once: it is the associated data of every seal and open.
    let associatedData: [UInt8]

    public init(table: String, id: String, version: Int64) {
        self.table = table
        self.id = id
        self.version = version
        self.associatedData = Self.encode(table: table, id: id, version: version)
    }

    public static func == (lhs: RecordBinding, rhs: RecordBinding) -> Bool {
        lhs.associatedData == rhs.associatedData
    }

    /// Length-prefixed fields, so that no two bindings encode alike ("a|b" + "c" vs "a" + "b|c").
    private static func encode(table: String, id: String, version: Int64) -> [UInt8] {
        var out = Array("coffer-record-v1".utf8)
        for field in [Array(table.utf8), Array(id.utf8), Array(String(version).utf8)] { out += LengthPrefix.encode(field) }
        return out
    }
}

/// An encrypted column value: the key term it was sealed under, and the sealed bytes — the 24-byte nonce
/// followed by the ciphertext and its 16-byte tag — stored in one column.
public struct EncryptedValue: Sendable, Equatable {
    public let term: Int64
    public let sealed: [UInt8]

    public init(term: Int64, sealed: [UInt8]) {
        self.term = term
        self.sealed = sealed
    }
}

/// Seals and opens records under the keyring, bound to their place. The only type that encrypts records.
///
/// A sealer is a snapshot of the keyring taken from ``KeyHierarchy/sealer()``; use it for one request and
/// drop it, so that sealing the hierarchy leaves no key in memory once requests finish.
public struct Sealer: Sendable {
    let keyring: Keyring

    /// The term new records are sealed under.
    public var activeTerm: Int64 { keyring.activeTerm }

    /// Encrypts `plaintext` under the active data key, bound to `binding`.
    public func seal(_ plaintext: borrowing SecureBytes, binding: RecordBinding) throws -> EncryptedValue {
        guard let key = keyring.activeKey else { throw KeysError.sealed }
        let sealed = try AEAD.sealCombined(plaintext, key: key.bytes, associatedData: binding.associatedData)
        return EncryptedValue(term: keyring.activeTerm, sealed: sealed)
    }

    /// Decrypts `value` into guarded memory.
    /// - Throws: ``KeysError`` `.unknownTerm` for a term this keyring lacks, `.tampered` when the value
    ///   does not authenticate at `binding` (altered, truncated, or moved from another place).
    public func open(_ value: EncryptedValue, binding: RecordBinding) throws -> SecureBytes {
        // Most reads are of records sealed under the active term: skip the dictionary for those.
        guard let key = value.term == keyring.activeTerm ? keyring.activeKey : keyring.keys[value.term] else {
            throw KeysError(
                .unknownTerm,
                """
                the record at \(binding.table)/\(binding.id) v\(binding.version) names key term \(value.term), which the keyring \
                does not have
                """
            )
        }
        do {
            return try AEAD.openCombined(value.sealed, key: key.bytes, associatedData: binding.associatedData)
        } catch {
            throw KeysError(
                .tampered, "the record at \(binding.table)/\(binding.id) v\(binding.version) failed authentication: it was altered or moved"
            )
        }
    }
}
