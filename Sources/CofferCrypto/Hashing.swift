import CSodium
import CofferFoundation

/// BLAKE2b (`crypto_generichash`): digests, and keyed hashes (MACs) for tokens and audit values.
public enum BLAKE2b {
    public static let defaultLength = Int(crypto_generichash_BYTES)
    public static let keyLengths = Int(crypto_generichash_KEYBYTES_MIN)...Int(crypto_generichash_KEYBYTES_MAX)
    public static let outputLengths = Int(crypto_generichash_BYTES_MIN)...Int(crypto_generichash_BYTES_MAX)

    /// An unkeyed digest of `data`.
    public static func hash(_ data: [UInt8], length: Int = defaultLength) throws -> [UInt8] {
        try digest(data, length: length, key: nil)
    }

    /// A keyed hash of `data`; compare results with ``ConstantTime/equals(_:_:)``.
    public static func hash(_ data: [UInt8], key: borrowing SecureBytes, length: Int = defaultLength) throws -> [UInt8] {
        guard keyLengths.contains(key.count) else {
            throw CryptoError(.invalidInput, "a BLAKE2b key must be \(keyLengths.lowerBound) to \(keyLengths.upperBound) bytes")
        }
        return try key.withUnsafeBytes { try digest(data, length: length, key: $0) }
    }

    /// Keyed BLAKE2b of secret bytes, read in place (no unguarded copy).
    public static func hash(secret data: borrowing SecureBytes, key: borrowing SecureBytes, length: Int = defaultLength) throws -> [UInt8] {
        guard keyLengths.contains(key.count) else {
            throw CryptoError(.invalidInput, "a BLAKE2b key must be \(keyLengths.lowerBound) to \(keyLengths.upperBound) bytes")
        }
        return try key.withUnsafeBytes { keyBytes in
            try data.withUnsafeBytes { bytes in try digest(bytes, length: length, key: keyBytes) }
        }
    }

    private static func digest(_ data: [UInt8], length: Int, key: UnsafeRawBufferPointer?) throws -> [UInt8] {
        try data.withUnsafeBytes { try digest($0, length: length, key: key) }
    }

    private static func digest(_ data: UnsafeRawBufferPointer, length: Int, key: UnsafeRawBufferPointer?) throws -> [UInt8] {
        Sodium.ensureInitialised()
        guard outputLengths.contains(length) else {
            throw CryptoError(.invalidInput, "a BLAKE2b output must be \(outputLengths.lowerBound) to \(outputLengths.upperBound) bytes")
        }
        var out = [UInt8](repeating: 0, count: length)
        let rc = crypto_generichash(
            &out, length, data.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt64(data.count),
            key?.baseAddress?.assumingMemoryBound(to: UInt8.self), key?.count ?? 0)
        guard rc == 0 else { throw CryptoError(.libraryFailure, "BLAKE2b failed") }
        return out
    }
}

/// Sub-key derivation (`crypto_kdf`, BLAKE2b-based): independent keys for distinct purposes from one master key.
public enum KDF {
    public static let contextBytes = Int(crypto_kdf_CONTEXTBYTES)
    public static let keyLengths = Int(crypto_kdf_BYTES_MIN)...Int(crypto_kdf_BYTES_MAX)

    /// Derives sub-key number `id` for `context` (exactly 8 ASCII characters, e.g. `"coffer01"`).
    public static func derive(from master: borrowing SecureBytes, id: UInt64, context: String, length: Int = 32) throws -> SecureBytes {
        Sodium.ensureInitialised()
        let contextBytes = Array(context.utf8)
        guard contextBytes.count == Self.contextBytes else {
            throw CryptoError(.invalidInput, "a KDF context must be exactly \(Self.contextBytes) bytes")
        }
        guard master.count == Int(crypto_kdf_KEYBYTES) else {
            throw CryptoError(.invalidInput, "a KDF master key must be \(crypto_kdf_KEYBYTES) bytes")
        }
        guard keyLengths.contains(length) else {
            throw CryptoError(.invalidInput, "a derived key must be \(keyLengths.lowerBound) to \(keyLengths.upperBound) bytes")
        }
        var subkey = SecureBytes(count: length)
        let rc = master.withBytePointer { masterBytes in
            subkey.withMutableBytePointer { out in
                context.withCString { ctx in crypto_kdf_derive_from_key(out, length, id, ctx, masterBytes) }
            }
        }
        guard rc == 0 else { throw CryptoError(.libraryFailure, "key derivation failed") }
        return subkey
    }
}

/// Secure randomness, from libsodium only.
public enum Random {
    /// `count` random bytes (for nonces, salts, identifiers; use ``SecureBytes/random(count:)`` for keys).
    public static func bytes(_ count: Int) -> [UInt8] {
        Sodium.ensureInitialised()
        var out = [UInt8](repeating: 0, count: count)
        if count > 0 { randombytes_buf(&out, count) }
        return out
    }

    /// A uniform integer in `0..<upperBound`.
    public static func uniform(_ upperBound: UInt32) -> UInt32 {
        Sodium.ensureInitialised()
        return randombytes_uniform(upperBound)
    }
}

/// SHA-256 (`crypto_hash_sha256`), fed in pieces: content addresses of model artifacts, which are
/// hashed while they stream and never held whole in memory.
public struct SHA256: Sendable {
    private var state = crypto_hash_sha256_state()

    public init() {
        Sodium.ensureInitialised()
        crypto_hash_sha256_init(&state)
    }

    /// Adds `bytes` to the digest.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        crypto_hash_sha256_update(&state, base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    /// The digest as 64 lowercase hex digits.
    /// Ends the digest; the state is spent (start a new ``SHA256`` for more).
    public mutating func finalHex() -> String {
        var out = [UInt8](repeating: 0, count: Int(crypto_hash_sha256_BYTES))
        crypto_hash_sha256_final(&state, &out)
        return Hex.encode(out)
    }

    /// The digest of `bytes` in one call.
    public static func hex(_ bytes: [UInt8]) -> String {
        var hasher = SHA256()
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.finalHex()
    }
}

/// HMAC-SHA-256 (`crypto_auth_hmacsha256`, any key length): the hash Vault's audit devices give values,
/// which SIEM rules for Vault's logs expect (`hmac-sha256:<hex>`).
public enum HMACSHA256 {
    /// The MAC of `message` under `key`, as 64 lowercase hex digits.
    public static func hex(_ message: UnsafeRawBufferPointer, key: borrowing SecureBytes) -> String {
        Sodium.ensureInitialised()
        var state = crypto_auth_hmacsha256_state()
        var out = [UInt8](repeating: 0, count: Int(crypto_auth_hmacsha256_BYTES))
        key.withUnsafeBytes { key in
            var empty: UInt8 = 0
            if let base = key.baseAddress, !key.isEmpty {
                _ = crypto_auth_hmacsha256_init(&state, base.assumingMemoryBound(to: UInt8.self), key.count)
            } else {
                _ = crypto_auth_hmacsha256_init(&state, &empty, 0)
            }
        }
        if let base = message.baseAddress, !message.isEmpty {
            _ = crypto_auth_hmacsha256_update(&state, base.assumingMemoryBound(to: UInt8.self), UInt64(message.count))
        }
        _ = crypto_auth_hmacsha256_final(&state, &out)
        sodium_memzero(&state, MemoryLayout<crypto_auth_hmacsha256_state>.size)
        return Hex.encode(out)
    }
}
