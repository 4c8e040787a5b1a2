import CSodium
import CofferFoundation

/// Ed25519 signatures (`crypto_sign`), for audit checkpoints.
public struct Ed25519SigningKey: ~Copyable, Sendable {
    public static let seedBytes = Int(crypto_sign_SEEDBYTES)
    public static let signatureBytes = Int(crypto_sign_BYTES)
    public static let publicKeyBytes = Int(crypto_sign_PUBLICKEYBYTES)

    private let secretKey: SecureBytes
    /// The 32-byte public key, safe to publish.
    public let publicKey: [UInt8]

    /// A new random key pair.
    public static func generate() -> Ed25519SigningKey {
        // Cannot fail: the seed has the right length.
        (try? Ed25519SigningKey(seed: SecureBytes.random(count: seedBytes))) ?? { fatalError("Ed25519 key generation failed") }()
    }

    /// The key pair determined by a 32-byte seed (for keys derived from the hierarchy).
    public init(seed: borrowing SecureBytes) throws {
        Sodium.ensureInitialised()
        guard seed.count == Self.seedBytes else { throw CryptoError(.invalidInput, "an Ed25519 seed must be \(Self.seedBytes) bytes") }
        var secret = SecureBytes(count: Int(crypto_sign_SECRETKEYBYTES))
        var publicKey = [UInt8](repeating: 0, count: Self.publicKeyBytes)
        let rc = seed.withBytePointer { seedBytes in
            secret.withMutableBytePointer { sk in crypto_sign_seed_keypair(&publicKey, sk, seedBytes) }
        }
        guard rc == 0 else { throw CryptoError(.libraryFailure, "Ed25519 key derivation failed") }
        self.secretKey = secret
        self.publicKey = publicKey
    }

    /// A detached 64-byte signature of `message`.
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: Self.signatureBytes)
        _ = secretKey.withBytePointer { sk in
            message.withUnsafeBytes { raw in
                withNonNullBytes(raw) { crypto_sign_detached(&signature, nil, $0, UInt64(message.count), sk) }
            }
        }
        return signature
    }

    /// Whether `signature` is `publicKey`'s signature of `message`.
    public static func verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        Sodium.ensureInitialised()
        guard signature.count == signatureBytes, publicKey.count == publicKeyBytes else { return false }
        return message.withUnsafeBytes { raw in
            withNonNullBytes(raw) { crypto_sign_verify_detached(signature, $0, UInt64(message.count), publicKey) == 0 }
        }
    }
}

/// A derived Ed25519 key pair shared by reference (as ``SecureHandle`` shares bytes): the hierarchy derives the
/// audit signing key once at unseal instead of on every audit commit, and drops it at seal.
public final class SigningKeyHandle: Sendable {
    public let key: Ed25519SigningKey

    public init(_ key: consuming Ed25519SigningKey) {
        self.key = key
    }
}
