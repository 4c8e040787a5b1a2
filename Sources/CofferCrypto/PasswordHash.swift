import CSodium
import CofferFoundation

/// Argon2id key derivation from a passphrase (`crypto_pwhash`), with parameters stored beside the salt
/// so that a later unseal derives the same key even if the defaults change.
public enum Argon2id {
    /// Cost parameters, stored in the clear (they are not secret).
    public struct Parameters: Sendable, Equatable, Codable {
        /// Passes over memory (`opslimit`).
        public var opsLimit: UInt64
        /// Memory in bytes (`memlimit`).
        public var memLimit: Int
        /// 16 random bytes.
        public var salt: [UInt8]

        /// libsodium's MODERATE costs (3 passes, 256 MiB: about a second here), with a fresh salt.
        public static func moderate() -> Parameters {
            Parameters(
                opsLimit: UInt64(crypto_pwhash_OPSLIMIT_MODERATE), memLimit: Int(crypto_pwhash_MEMLIMIT_MODERATE),
                salt: Random.bytes(Int(crypto_pwhash_SALTBYTES)))
        }

        /// libsodium's INTERACTIVE costs (2 passes, 64 MiB), for tests and development.
        public static func interactive() -> Parameters {
            Parameters(
                opsLimit: UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE), memLimit: Int(crypto_pwhash_MEMLIMIT_INTERACTIVE),
                salt: Random.bytes(Int(crypto_pwhash_SALTBYTES)))
        }

        public init(opsLimit: UInt64, memLimit: Int, salt: [UInt8]) {
            self.opsLimit = opsLimit
            self.memLimit = memLimit
            self.salt = salt
        }
    }

    /// Derives `length` bytes from `passphrase`.
    /// - Throws: ``CryptoError`` `.invalidInput` for parameters outside libsodium's bounds, `.outOfMemory`
    ///   when the memory limit cannot be met.
    public static func deriveKey(passphrase: borrowing SecureBytes, parameters: Parameters, length: Int = 32) throws -> SecureBytes {
        Sodium.ensureInitialised()
        guard parameters.salt.count == Int(crypto_pwhash_SALTBYTES) else {
            throw CryptoError(.invalidInput, "an Argon2id salt must be \(crypto_pwhash_SALTBYTES) bytes")
        }
        guard parameters.opsLimit >= UInt64(crypto_pwhash_OPSLIMIT_MIN), parameters.opsLimit <= UInt64(crypto_pwhash_opslimit_max()),
            parameters.memLimit >= Int(crypto_pwhash_MEMLIMIT_MIN), parameters.memLimit <= crypto_pwhash_memlimit_max()
        else {
            throw CryptoError(
                .invalidInput, "Argon2id parameters out of range (opslimit \(parameters.opsLimit), memlimit \(parameters.memLimit))")
        }
        guard length >= Int(crypto_pwhash_BYTES_MIN) else {
            throw CryptoError(.invalidInput, "an Argon2id output must be at least 16 bytes")
        }
        var key = SecureBytes(count: length)
        let passLength = passphrase.count
        let rc = passphrase.withBytePointer { pass in
            key.withMutableBytePointer { out in
                pass.withMemoryRebound(to: CChar.self, capacity: max(passLength, 1)) { passChars in
                    crypto_pwhash(
                        out, UInt64(length), passChars, UInt64(passLength),
                        parameters.salt, parameters.opsLimit, parameters.memLimit, crypto_pwhash_ALG_ARGON2ID13)
                }
            }
        }
        guard rc == 0 else { throw CryptoError(.outOfMemory, "Argon2id could not allocate \(parameters.memLimit) bytes") }
        return key
    }
}
