import CSodium
import CofferFoundation

/// XChaCha20-Poly1305-IETF authenticated encryption with associated data.
///
/// Every encryption draws a fresh random 24-byte nonce; at that size random nonces never collide in
/// practice, so no counter state is needed across processes. The associated data is authenticated but
/// not encrypted: Coffer puts a record's table, id and version there, so a ciphertext moved elsewhere
/// fails to open.
public enum AEAD {
    public static let keyBytes = Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    public static let nonceBytes = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    public static let tagBytes = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)

    /// A sealed value: the nonce and the ciphertext with its 16-byte tag at the end.
    public struct Box: Sendable, Equatable {
        public let nonce: [UInt8]
        public let ciphertext: [UInt8]

        public init(nonce: [UInt8], ciphertext: [UInt8]) {
            self.nonce = nonce
            self.ciphertext = ciphertext
        }
    }

    /// Encrypts `plaintext` under `key`, binding `associatedData`.
    /// - Throws: ``CryptoError`` `.invalidInput` for a key that is not 32 bytes.
    public static func seal(_ plaintext: borrowing SecureBytes, key: borrowing SecureBytes, associatedData: [UInt8]) throws -> Box {
        try plaintext.withUnsafeBytes { try seal(UnsafeRawBufferPointer($0), key: key, associatedData: associatedData, nonce: nil) }
    }

    /// Encrypts plain bytes (data that is not secret by itself but must be bound, or a value the caller wipes).
    public static func seal(bytes plaintext: [UInt8], key: borrowing SecureBytes, associatedData: [UInt8]) throws -> Box {
        try plaintext.withUnsafeBytes { try seal($0, key: key, associatedData: associatedData, nonce: nil) }
    }

    /// Encryption with a caller-chosen nonce, for test vectors only: reusing a nonce under one key is fatal.
    static func seal(_ plaintext: UnsafeRawBufferPointer, key: borrowing SecureBytes, associatedData: [UInt8], nonce fixed: [UInt8]?) throws
        -> Box
    {
        Sodium.ensureInitialised()
        guard key.count == keyBytes else { throw CryptoError(.invalidInput, "an AEAD key must be \(keyBytes) bytes") }
        // Filled in place: no zero-fill of buffers that are overwritten at once.
        let nonce =
            fixed
            ?? [UInt8](unsafeUninitializedCapacity: nonceBytes) { buffer, initialized in
                guard let base = buffer.baseAddress else {
                    initialized = 0
                    return
                }
                randombytes_buf(base, nonceBytes)
                initialized = nonceBytes
            }
        guard nonce.count == nonceBytes else { throw CryptoError(.invalidInput, "an AEAD nonce must be \(nonceBytes) bytes") }
        var rc: Int32 = -1
        let ciphertext = [UInt8](unsafeUninitializedCapacity: plaintext.count + tagBytes) { buffer, initialized in
            var length: UInt64 = 0
            guard let base = buffer.baseAddress else {
                initialized = 0
                return
            }
            rc = key.withBytePointer { keyBytes in
                withNonNullBytes(plaintext) { message in
                    crypto_aead_xchacha20poly1305_ietf_encrypt(
                        base, &length, message, UInt64(plaintext.count),
                        associatedData, UInt64(associatedData.count), nil, nonce, keyBytes)
                }
            }
            initialized = rc == 0 ? Int(length) : 0
        }
        guard rc == 0 else { throw CryptoError(.libraryFailure, "XChaCha20-Poly1305 encryption failed") }
        return Box(nonce: nonce, ciphertext: ciphertext)
    }

    /// Encrypts `plaintext` into one buffer: the nonce followed by the ciphertext and its tag (libsodium's
    /// "combined" layout with the nonce in front). One allocation per value, and one column to store.
    public static func sealCombined(_ plaintext: borrowing SecureBytes, key: borrowing SecureBytes, associatedData: [UInt8]) throws
        -> [UInt8]
    {
        Sodium.ensureInitialised()
        guard key.count == keyBytes else { throw CryptoError(.invalidInput, "an AEAD key must be \(keyBytes) bytes") }
        var rc: Int32 = -1
        let combined = plaintext.withUnsafeBytes { message in
            [UInt8](unsafeUninitializedCapacity: nonceBytes + message.count + tagBytes) { buffer, initialized in
                var length: UInt64 = 0
                guard let base = buffer.baseAddress else {
                    initialized = 0
                    return
                }
                randombytes_buf(base, nonceBytes)
                rc = key.withBytePointer { keyBytes in
                    withNonNullBytes(message) { bytes in
                        crypto_aead_xchacha20poly1305_ietf_encrypt(
                            base + nonceBytes, &length, bytes, UInt64(message.count),
                            associatedData, UInt64(associatedData.count), nil, base, keyBytes)
                    }
                }
                initialized = rc == 0 ? nonceBytes + Int(length) : 0
            }
        }
        guard rc == 0 else { throw CryptoError(.libraryFailure, "XChaCha20-Poly1305 encryption failed") }
        return combined
    }

    /// Decrypts a buffer made by ``sealCombined(_:key:associatedData:)`` into guarded memory.
    /// - Throws: ``CryptoError`` `.authenticationFailed` when the buffer, the associated data or the key
    ///   does not match, or the buffer is too short to hold a nonce and a tag.
    public static func openCombined(_ combined: [UInt8], key: borrowing SecureBytes, associatedData: [UInt8]) throws -> SecureBytes {
        Sodium.ensureInitialised()
        guard key.count == keyBytes else { throw CryptoError(.invalidInput, "an AEAD key must be \(keyBytes) bytes") }
        guard combined.count >= nonceBytes + tagBytes else {
            throw CryptoError(.authenticationFailed, "the sealed value is truncated or malformed")
        }
        var plaintext = SecureBytes(count: combined.count - nonceBytes - tagBytes)
        var length: UInt64 = 0
        let rc = combined.withUnsafeBufferPointer { sealed in
            key.withBytePointer { keyBytes in
                plaintext.withMutableBytePointer { out in
                    crypto_aead_xchacha20poly1305_ietf_decrypt(
                        out, &length, nil, sealed.baseAddress! + nonceBytes, UInt64(sealed.count - nonceBytes),
                        associatedData, UInt64(associatedData.count), sealed.baseAddress!, keyBytes)
                }
            }
        }
        guard rc == 0 else {
            throw CryptoError(.authenticationFailed, "the sealed value did not authenticate: it was altered, moved, or the key is wrong")
        }
        return plaintext
    }

    /// Decrypts into guarded memory.
    /// - Throws: ``CryptoError`` `.authenticationFailed` when the box, the associated data or the key
    ///   does not match; nothing is decrypted then.
    public static func open(_ box: Box, key: borrowing SecureBytes, associatedData: [UInt8]) throws -> SecureBytes {
        Sodium.ensureInitialised()
        guard key.count == keyBytes else { throw CryptoError(.invalidInput, "an AEAD key must be \(keyBytes) bytes") }
        guard box.nonce.count == nonceBytes, box.ciphertext.count >= tagBytes else {
            throw CryptoError(.authenticationFailed, "the sealed value is truncated or malformed")
        }
        var plaintext = SecureBytes(count: box.ciphertext.count - tagBytes)
        var length: UInt64 = 0
        let rc = key.withBytePointer { keyBytes in
            plaintext.withMutableBytePointer { out in
                crypto_aead_xchacha20poly1305_ietf_decrypt(
                    out, &length, nil, box.ciphertext, UInt64(box.ciphertext.count),
                    associatedData, UInt64(associatedData.count), box.nonce, keyBytes)
            }
        }
        guard rc == 0 else {
            throw CryptoError(.authenticationFailed, "the sealed value did not authenticate: it was altered, moved, or the key is wrong")
        }
        return plaintext
    }
}
