@testable import CofferCrypto
import Testing

struct ShamirTests {
    /// Every subset of at least `threshold` shares recovers the secret.
    @Test(arguments: [(2, 2), (3, 2), (5, 3), (7, 7)])
    func everyLargeEnoughSubsetRecovers(shares: Int, threshold: Int) throws {
        let secret = SecureBytes.random(count: 32)
        let parts = try Shamir.split(secret, shares: shares, threshold: threshold)
        #expect(parts.count == shares)
        #expect(parts.allSatisfy { $0.bytes.count == 33 })
        for mask in 1..<(1 << shares) where mask.nonzeroBitCount >= threshold {
            let subset = parts.indices.filter { mask & (1 << $0) != 0 }.map { parts[$0] }
            let check1 = try same(Shamir.combine(subset), secret)
            #expect(check1, "subset \(mask)")
        }
    }

    /// Fewer shares than the threshold give a wrong secret (Shamir cannot tell; the key check does).
    @Test func tooFewSharesDoNotRecover() throws {
        let secret = SecureBytes.random(count: 32)
        let parts = try Shamir.split(secret, shares: 5, threshold: 3)
        let check2 = try !same(Shamir.combine([parts[0], parts[1]]), secret)
        #expect(check2)
    }

    @Test func badSharesAreRefused() throws {
        let parts = try Shamir.split(SecureBytes.random(count: 16), shares: 3, threshold: 2)
        let other = try Shamir.split(SecureBytes.random(count: 8), shares: 3, threshold: 2)
        #expect(throws: CryptoError.self) { _ = try Shamir.combine([parts[0]]) }
        #expect(throws: CryptoError.self) { _ = try Shamir.combine([parts[0], parts[0]]) }
        #expect(throws: CryptoError.self) { _ = try Shamir.combine([parts[0], other[1]]) }
        #expect(throws: CryptoError.self) { _ = try Shamir.split(SecureBytes.random(count: 16), shares: 3, threshold: 4) }
        #expect(throws: CryptoError.self) { _ = try Shamir.split(SecureBytes.random(count: 16), shares: 256, threshold: 2) }
        #expect(throws: CryptoError.self) { _ = try Shamir.split(SecureBytes.random(count: 16), shares: 3, threshold: 1) }
    }

    @Test func fieldArithmetic() {
        // AES field facts: 0x53 · 0xCA = 1 (FIPS-197 §4.2), and 0x57 · 0x83 = 0xC1.
        #expect(GF256.multiply(0x53, 0xCA) == 0x01)
        #expect(GF256.multiply(0x57, 0x83) == 0xC1)
        for a in 1...255 {
            #expect(GF256.multiply(UInt8(a), GF256.inverse(UInt8(a))) == 1)
        }
        #expect(GF256.inverse(0) == 0)
    }
}
