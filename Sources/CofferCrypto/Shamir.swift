import CSodium
import CofferFoundation

/// Shamir's secret sharing over GF(2^8), in Vault's format: each share is the secret's length in
/// y-values followed by one byte, its x-coordinate. Shares made here combine with Vault's code and back.
///
/// Field arithmetic is constant-time (no tables indexed by secret bytes, no branches on them).
public enum Shamir {
    /// Splits `secret` into `shares` parts, any `threshold` of which recover it.
    /// - Throws: ``CryptoError`` `.invalidInput` unless 2 ≤ threshold ≤ shares ≤ 255 and the secret is not empty.
    public static func split(_ secret: borrowing SecureBytes, shares: Int, threshold: Int) throws -> [SecureHandle] {
        guard (2...255).contains(shares), (2...shares).contains(threshold) else {
            throw CryptoError(.invalidInput, "Shamir needs 2 ≤ threshold ≤ shares ≤ 255 (got \(threshold) of \(shares))")
        }
        guard secret.count > 0 else { throw CryptoError(.invalidInput, "cannot split an empty secret") }
        // Distinct non-zero x-coordinates in random order, as Vault draws them.
        var xs = Array(UInt8(1)...UInt8(255))
        for index in stride(from: xs.count - 1, to: 0, by: -1) {
            xs.swapAt(index, Int(Random.uniform(UInt32(index + 1))))
        }
        var outputs = SecureBytes(count: shares * (secret.count + 1))
        // One random polynomial per secret byte: constant term the byte, `threshold - 1` random coefficients.
        var coefficients = SecureBytes.random(count: threshold - 1)
        for byteIndex in 0..<secret.count {
            let constant = secret.withUnsafeBytes { $0[byteIndex] }
            coefficients.withMutableBytePointer { randombytes_buf($0, threshold - 1) }
            for share in 0..<shares {
                let x = xs[share]
                let y = coefficients.withUnsafeBytes { coefficients in
                    // Horner's rule from the highest coefficient down to the constant term.
                    var accumulator: UInt8 = 0
                    for degree in stride(from: coefficients.count - 1, through: 0, by: -1) {
                        accumulator = GF256.multiply(accumulator, x) ^ coefficients[degree]
                    }
                    return GF256.multiply(accumulator, x) ^ constant
                }
                outputs.withUnsafeMutableBytes { $0[share * (secret.count + 1) + byteIndex] = y }
            }
        }
        let width = secret.count + 1
        return (0..<shares).map { share in
            var out = SecureBytes(count: width)
            out.withUnsafeMutableBytes { target in
                outputs.withUnsafeBytes { source in
                    for index in 0..<(width - 1) { target[index] = source[share * width + index] }
                }
                target[width - 1] = xs[share]
            }
            return SecureHandle(out)
        }
    }

    /// Recovers the secret from `threshold` or more shares.
    ///
    /// With fewer shares than the threshold the result is a wrong secret, not an error: Shamir cannot tell.
    /// Callers check the result against a key-check value.
    /// - Throws: ``CryptoError`` `.invalidShares` for fewer than two shares, shares of different lengths,
    ///   a zero or repeated x-coordinate.
    public static func combine(_ shares: [SecureHandle]) throws -> SecureBytes {
        guard shares.count >= 2 else { throw CryptoError(.invalidShares, "at least two shares are needed") }
        let length = shares[0].bytes.count
        guard length >= 2, shares.allSatisfy({ $0.bytes.count == length }) else {
            throw CryptoError(.invalidShares, "the shares have different lengths: they come from different splits or one is damaged")
        }
        let xs = shares.map { share in share.bytes.withUnsafeBytes { $0[length - 1] } }
        guard !xs.contains(0), Set(xs).count == xs.count else {
            throw CryptoError(.invalidShares, "a share is repeated or malformed (each share must be given once)")
        }
        var secret = SecureBytes(count: length - 1)
        // Lagrange basis at x = 0: l_i(0) = Π_{j≠i} x_j / (x_j − x_i); subtraction is XOR in GF(2^8).
        let basis: [UInt8] = xs.indices.map { i in
            var numerator: UInt8 = 1, denominator: UInt8 = 1
            for j in xs.indices where j != i {
                numerator = GF256.multiply(numerator, xs[j])
                denominator = GF256.multiply(denominator, xs[j] ^ xs[i])
            }
            return GF256.multiply(numerator, GF256.inverse(denominator))
        }
        for byteIndex in 0..<(length - 1) {
            var value: UInt8 = 0
            for (i, share) in shares.enumerated() {
                value ^= GF256.multiply(share.bytes.withUnsafeBytes { $0[byteIndex] }, basis[i])
            }
            secret.withUnsafeMutableBytes { $0[byteIndex] = value }
        }
        return secret
    }
}

/// GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1, as Vault's shamir package uses.
enum GF256 {
    /// Carry-less multiply and reduce, in constant time: 8 rounds, masks instead of branches.
    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var a = a, b = b, product: UInt8 = 0
        for _ in 0..<8 {
            product ^= a & (0 &- (b & 1))
            let carry = 0 &- (a >> 7)
            a = (a << 1) ^ (0x1b & carry)
            b >>= 1
        }
        return product
    }

    /// a^254 = a^-1 (and 0 for 0), by a fixed chain of squarings and multiplications.
    static func inverse(_ a: UInt8) -> UInt8 {
        var result: UInt8 = 1
        var power = a
        var exponent = 254
        while exponent > 0 {
            if exponent & 1 == 1 { result = multiply(result, power) }
            power = multiply(power, power)
            exponent >>= 1
        }
        return result
    }
}
