import CofferCrypto
import CofferSystem
import Foundation

/// Unseal shares: the text an operator pastes (hex or base64) and the combination of shares.
enum ShamirTarget {
    static let target = FuzzTarget(
        "shamir",
        "unseal key text (hex, base64, passphrase) is read or refused; any set of share byte strings combines or is "
            + "refused; a secret split into n shares (threshold t) is recovered from every t of them"
    ) { input throws(FuzzFinding) in
        guard input.count >= 3 else { return }
        let bytes = Array(input)
        // The text an operator sends to sys/unseal, rekey and generate-root.
        _ = try? SealRoutes.keyBytes(String(decoding: bytes.dropFirst(), as: UTF8.self), passphrase: bytes[0] & 1 == 1)

        // Arbitrary shares: the first byte says how many, the rest is cut into equal pieces.
        let count = Int(bytes[0] % 6) + 1
        let rest = Array(bytes.dropFirst())
        let length = rest.count / count
        if length > 0 {
            let shares = (0..<count).map { i in SecureHandle(SecureBytes(copying: rest[(i * length)..<((i + 1) * length)])) }
            _ = try? Shamir.combine(shares)
        }

        // Split and recover: n and t from the first two bytes, the secret from the rest (at most 64 bytes).
        let n = Int(bytes[0] % 9) + 2
        let t = Int(bytes[1]) % (n - 1) + 2
        let secretBytes = Array(bytes.dropFirst(2).prefix(64))
        guard !secretBytes.isEmpty else { return }
        let secret = SecureBytes(copying: secretBytes)
        guard let shares = try? Shamir.split(secret, shares: n, threshold: t) else {
            throw FuzzFinding("a \(secretBytes.count)-byte secret could not be split \(t) of \(n)")
        }
        try require(shares.count == n, "split into \(shares.count) shares, not \(n)")
        // Every window of t consecutive shares (rotating), and the last t in reverse order.
        var subsets = (0..<n).map { start in (0..<t).map { shares[(start + $0) % n] } }
        subsets.append(Array(shares.suffix(t).reversed()))
        for subset in subsets {
            guard let recovered = try? Shamir.combine(subset) else { throw FuzzFinding("\(t) of \(n) shares did not combine") }
            try require(recovered.constantTimeEquals(secretBytes), "\(t) of \(n) shares combined to a different secret")
        }
    }
}
