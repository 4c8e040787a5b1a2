import CofferCrypto
public import struct Foundation.Date

/// The data-encryption keys by term. Immutable: rotation makes a new keyring.
public struct Keyring: Sendable {
    /// Status of a term: `active` seals new records; `decryptOnly` still opens old ones; `retired` is gone.
    public enum Status: String, Sendable {
        case active
        case decryptOnly = "decrypt-only"
        case retired
    }

    /// Public facts about one term.
    public struct Term: Sendable, Equatable {
        public let term: Int64
        public let status: Status
        public let createdAt: Date
    }

    let keys: [Int64: SecureHandle]
    public let terms: [Term]
    public let activeTerm: Int64
    /// The active term's key, looked up once: every seal uses it.
    let activeKey: SecureHandle?
    /// Each term's row-authentication key, derived from its data key (so it rotates, and retires, with it).
    let rowKeys: [Int64: SecureHandle]
    let activeRowKey: SecureHandle?
    /// Where a row that fails authentication is reported (shared by every snapshot of one hierarchy).
    let integrity: RowIntegrity

    init(keys: [Int64: SecureHandle], terms: [Term], integrity: RowIntegrity) throws {
        self.keys = keys
        self.terms = terms.sorted { $0.term < $1.term }
        let active = terms.first { $0.status == .active }?.term ?? 0
        self.activeTerm = active
        self.activeKey = keys[active]
        self.rowKeys = try keys.mapValues { SecureHandle(try KDF.derive(from: $0.bytes, id: 1, context: "cofrow01")) }
        self.activeRowKey = rowKeys[active]
        self.integrity = integrity
    }
}
