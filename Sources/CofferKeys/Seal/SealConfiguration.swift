public import CofferCrypto
import CofferFoundation
import CofferStore

/// How the root key is recovered at unseal. Stored in `seal_config`; the root key itself never is.
public enum UnsealMethod: Sendable, Equatable {
    /// Shamir shares, Vault's scheme: any `threshold` of `shares` reconstruct the root key.
    case shamir(shares: Int, threshold: Int)
    /// An Argon2id passphrase with the stored cost parameters.
    case passphrase(Argon2id.Parameters)
    /// The root key itself in a file or environment variable, for automation (weaker: whoever reads the
    /// file holds the vault).
    case keyFile

    /// The method as stored in `seal_config` and reported as seal-status `type`.
    public var name: String {
        switch self {
        case .shamir: "shamir"
        case .passphrase: "passphrase"
        case .keyFile: "keyfile"
        }
    }

    /// The `argon2_ops`, `argon2_mem`, `argon2_salt` columns: set for a passphrase, NULL otherwise.
    var argon2Columns: (Int64?, Int64?, [UInt8]?) {
        guard case .passphrase(let parameters) = self else { return (nil, nil, nil) }
        return (Int64(parameters.opsLimit), Int64(parameters.memLimit), parameters.salt)
    }

    /// Vault's `t` and `n` for seal-status.
    var thresholdAndShares: (Int, Int) {
        if case .shamir(let shares, let threshold) = self { return (threshold, shares) }
        return (1, 1)
    }
}

/// The `seal_config` row.
struct SealConfiguration: Sendable, SQLRowDecodable {
    var method: UnsealMethod
    var keyCheck: [UInt8]
    var rootGeneration: Int64

    /// The key-check value: a keyed BLAKE2b of a fixed label under the root key. It tells a right root key
    /// from a wrong one and, being a PRF output, reveals nothing about the key.
    ///
    /// Its label also records that every security-relevant row carries an authentication tag: a database
    /// written before row authentication has the first label's value, and the first unseal after the upgrade
    /// tags those rows and moves the check to the second label in one transaction. A database writer cannot
    /// move it back (the old value is a PRF output of the root key), so untagged rows are never adopted again.
    static func keyCheck(for rootKey: borrowing SecureBytes) throws -> [UInt8] {
        try BLAKE2b.hash(Array("coffer root key check v2: rows authenticated".utf8), key: rootKey)
    }

    /// The key check of a release before row authentication (see ``keyCheck(for:)``).
    static func legacyKeyCheck(for rootKey: borrowing SecureBytes) throws -> [UInt8] {
        try BLAKE2b.hash(Array("coffer root key check v1".utf8), key: rootKey)
    }

    init(method: UnsealMethod, keyCheck: [UInt8], rootGeneration: Int64) {
        self.method = method
        self.keyCheck = keyCheck
        self.rootGeneration = rootGeneration
    }

    /// The columns of `seal_config` a configuration is read from.
    enum Column: String, SQLColumn {
        case method, shares = "secret_shares", threshold = "secret_threshold", argon2Ops = "argon2_ops", argon2Mem = "argon2_mem"
        case argon2Salt = "argon2_salt", keyCheck = "key_check", rootGeneration = "root_generation"
    }

    init(row: SQLRow) throws {
        let name: String = try row.decode(Column.method)
        switch name {
        case "shamir":
            method = .shamir(shares: try row.decode(Column.shares), threshold: try row.decode(Column.threshold))
        case "passphrase":
            method = .passphrase(
                Argon2id.Parameters(
                    opsLimit: UInt64(try row.decode(Column.argon2Ops, as: Int64.self)), memLimit: try row.decode(Column.argon2Mem),
                    salt: try row.decode(Column.argon2Salt)))
        case "keyfile":
            method = .keyFile
        default:
            throw KeysError(.tampered, "seal_config names an unknown unseal method")
        }
        keyCheck = try row.decode(Column.keyCheck)
        rootGeneration = try row.decode(Column.rootGeneration)
    }
}
