import CofferCrypto
import CofferFoundation
import Testing

struct AEADTests {
    @Test func roundTrip() throws {
        let key = SecureBytes.random(count: AEAD.keyBytes)
        let secret = SecureBytes(copying: Array("postgres://app:s3cret@db/app".utf8))
        let ad = Array("api_credentials|7|1".utf8)
        let box = try AEAD.seal(secret, key: key, associatedData: ad)
        #expect(box.nonce.count == 24)
        #expect(box.ciphertext.count == secret.count + AEAD.tagBytes)
        let opened = try AEAD.open(box, key: key, associatedData: ad)
        let check1 = same(opened, secret)
        #expect(check1)
        // A fresh nonce every time: the same plaintext never encrypts the same way twice.
        #expect(try AEAD.seal(secret, key: key, associatedData: ad) != box)
    }

    /// Every bit of nonce, ciphertext and tag, and the associated data, is authenticated.
    @Test func everyFlippedBitIsCaught() throws {
        let key = SecureBytes.random(count: 32)
        let ad = Array("table|row|version".utf8)
        let box = try AEAD.seal(bytes: Array(0..<40), key: key, associatedData: ad)
        for index in 0..<(box.nonce.count * 8) {
            var nonce = box.nonce
            nonce[index / 8] ^= 1 << (index % 8)
            #expect(throws: CryptoError.self) {
                _ = try AEAD.open(.init(nonce: nonce, ciphertext: box.ciphertext), key: key, associatedData: ad)
            }
        }
        for index in 0..<(box.ciphertext.count * 8) {
            var ciphertext = box.ciphertext
            ciphertext[index / 8] ^= 1 << (index % 8)
            #expect(throws: CryptoError.self) {
                _ = try AEAD.open(.init(nonce: box.nonce, ciphertext: ciphertext), key: key, associatedData: ad)
            }
        }
        var movedAD = ad
        movedAD[movedAD.count - 1] ^= 1
        #expect { _ = try AEAD.open(box, key: key, associatedData: movedAD) } throws: { error in
            (error as? CryptoError)?.code == .authenticationFailed
        }
        #expect(throws: CryptoError.self) { _ = try AEAD.open(box, key: SecureBytes.random(count: 32), associatedData: ad) }
        #expect(throws: CryptoError.self) {
            _ = try AEAD.open(.init(nonce: box.nonce, ciphertext: Array(box.ciphertext.prefix(10))), key: key, associatedData: ad)
        }
    }

    /// The combined layout is exactly nonce ‖ ciphertext ‖ tag, so it opens through the vector-checked
    /// `open`, and every bit of it is authenticated.
    @Test func combinedLayoutRoundTripsAndIsAuthenticated() throws {
        let key = SecureBytes.random(count: 32)
        let ad = Array("table|row|version".utf8)
        let secret = SecureBytes(copying: Array(0..<40))
        let combined = try AEAD.sealCombined(secret, key: key, associatedData: ad)
        #expect(combined.count == AEAD.nonceBytes + 40 + AEAD.tagBytes)
        let viaBox = try AEAD.open(
            .init(nonce: Array(combined.prefix(24)), ciphertext: Array(combined.dropFirst(24))), key: key, associatedData: ad)
        #expect(viaBox.unprotectedCopy() == Array(0..<40))
        #expect(try AEAD.openCombined(combined, key: key, associatedData: ad).unprotectedCopy() == Array(0..<40))
        for index in 0..<(combined.count * 8) {
            var flipped = combined
            flipped[index / 8] ^= 1 << (index % 8)
            #expect(throws: CryptoError.self) { _ = try AEAD.openCombined(flipped, key: key, associatedData: ad) }
        }
        for length in [0, 24, 39] {
            #expect(throws: CryptoError.self) { _ = try AEAD.openCombined(Array(combined.prefix(length)), key: key, associatedData: ad) }
        }
    }

    @Test func wrongKeyLengthIsRefused() {
        #expect(throws: CryptoError.self) { _ = try AEAD.seal(bytes: [1], key: SecureBytes.random(count: 16), associatedData: []) }
    }
}

struct SecureBytesTests {
    @Test func randomCopyAndCompare() {
        let a = SecureBytes.random(count: 32)
        let b = a.copy()
        let check2 = same(a, b)
        #expect(check2)
        let check3 = !same(a, SecureBytes.random(count: 32))
        #expect(check3)
        let check4 = !same(a, SecureBytes.random(count: 31))
        #expect(check4)
        #expect(a.unprotectedCopy() != [UInt8](repeating: 0, count: 32))
        let check5 = same(a, a.unprotectedCopy())
        #expect(check5)
    }

    @Test func constantTimeEqualsOnPlainBytes() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(ConstantTime.equals([], []))
    }

    @Test func wipeZeroesPlainBytes() {
        var bytes: [UInt8] = [9, 9, 9]
        Wipe.bytes(&bytes)
        #expect(bytes == [0, 0, 0])
    }
}

struct PrimitiveTests {
    @Test func signaturesVerifyAndTamperingFails() throws {
        let key = Ed25519SigningKey.generate()
        let message = Array("checkpoint 42".utf8)
        let signature = key.sign(message)
        #expect(Ed25519SigningKey.verify(signature: signature, message: message, publicKey: key.publicKey))
        var altered = message
        altered[0] ^= 1
        #expect(!Ed25519SigningKey.verify(signature: signature, message: altered, publicKey: key.publicKey))
        #expect(!Ed25519SigningKey.verify(signature: signature, message: message, publicKey: Ed25519SigningKey.generate().publicKey))
        #expect(!Ed25519SigningKey.verify(signature: Array(signature.prefix(10)), message: message, publicKey: key.publicKey))
    }

    @Test func keyedHashDependsOnKey() throws {
        let data = Array("token".utf8)
        let k1 = SecureBytes.random(count: 32), k2 = SecureBytes.random(count: 32)
        #expect(try BLAKE2b.hash(data, key: k1) == BLAKE2b.hash(data, key: k1))
        #expect(try BLAKE2b.hash(data, key: k1) != BLAKE2b.hash(data, key: k2))
        #expect(throws: CryptoError.self) { _ = try BLAKE2b.hash(data, key: SecureBytes.random(count: 8)) }
    }

    @Test func kdfSeparatesIDsAndContexts() throws {
        let master = SecureBytes.random(count: 32)
        let a = try KDF.derive(from: master, id: 1, context: "coffer01")
        let check6 = try !same(a, KDF.derive(from: master, id: 2, context: "coffer01"))
        #expect(check6)
        let check7 = try !same(a, KDF.derive(from: master, id: 1, context: "coffer02"))
        #expect(check7)
        #expect(throws: CryptoError.self) { _ = try KDF.derive(from: master, id: 1, context: "short") }
    }

    @Test func argon2idIsDeterministicPerSaltAndRefusesBadParameters() throws {
        let pass = SecureBytes(copying: Array("passphrase".utf8))
        let parameters = Argon2id.Parameters(opsLimit: 2, memLimit: 8 << 20, salt: Random.bytes(16))
        let a = try Argon2id.deriveKey(passphrase: pass, parameters: parameters)
        let check8 = try same(a, Argon2id.deriveKey(passphrase: pass, parameters: parameters))
        #expect(check8)
        var other = parameters
        other.salt = Random.bytes(16)
        let check9 = try !same(a, Argon2id.deriveKey(passphrase: pass, parameters: other))
        #expect(check9)
        #expect(throws: CryptoError.self) {
            _ = try Argon2id.deriveKey(passphrase: pass, parameters: .init(opsLimit: 0, memLimit: 8 << 20, salt: Random.bytes(16)))
        }
        #expect(throws: CryptoError.self) {
            _ = try Argon2id.deriveKey(passphrase: pass, parameters: .init(opsLimit: 2, memLimit: 8 << 20, salt: Random.bytes(3)))
        }
    }
}

/// Constant-time equality of guarded bytes, as a free function: `#expect` cannot take apart a method
/// call on a non-copyable value.
func same(_ a: borrowing SecureBytes, _ b: borrowing SecureBytes) -> Bool { a.constantTimeEquals(b) }
func same(_ a: borrowing SecureBytes, _ b: [UInt8]) -> Bool { a.constantTimeEquals(b) }
