import ArgumentParser
import CSodium
import CofferCrypto
import CofferKeys
import CofferStore
import Foundation
import Logging

/// `coffer-bench crypto`: sealing and opening a 256-byte secret through the key hierarchy's `Sealer`
/// (record binding included) against the same XChaCha20-Poly1305 calls made directly on libsodium.
struct CryptoBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crypto",
        abstract: "Encrypt+decrypt of a 256-byte secret through the hierarchy vs raw libsodium."
    )

    @Option(help: "Encrypt+decrypt pairs per measurement.") var operations = 200_000
    @Option(help: "Repetitions, alternating the two sides; the best of each is reported.") var repeats = 5

    func run() async throws {
        var logger = Logger(label: "coffer.bench")
        logger.logLevel = .warning
        print(machineDescription())
        let folder = NSTemporaryDirectory() + "coffer-bench-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let db = try await SQLiteDatabase(path: "\(folder)/bench.db", logger: logger)
        try await Migrator(database: db, migrations: .embedded(for: .sqlite), logger: logger).migrate()
        let keys = try await KeyHierarchy(database: db)
        let initialised = try await keys.initialize(method: .keyFile)
        guard let rootKey = initialised.keyFileKey else { throw ValidationError("no key") }
        _ = try await keys.unseal(with: rootKey.bytes)
        let sealer = try keys.sealer()
        let secret = SecureBytes.random(count: 256)
        let binding = RecordBinding(table: "api_credentials", id: "app/database", version: 3)
        let count = operations

        // Raw: the same AEAD with a fixed 32-byte key, fresh nonce, 20-byte associated data, plain buffers.
        var rawKey = [UInt8](repeating: 0, count: 32)
        randombytes_buf(&rawKey, 32)
        let rawAD = Array("api_credentials|app/database|3".utf8)
        var plaintext = secret.unprotectedCopy()
        defer {
            Wipe.bytes(&plaintext)
            Wipe.bytes(&rawKey)
        }

        var bestLayer = Double.infinity, bestRaw = Double.infinity
        for _ in 0..<max(1, repeats) {
            bestLayer = min(
                bestLayer,
                try time {
                    for _ in 0..<count {
                        let value = try sealer.seal(secret, binding: binding)
                        let opened = try sealer.open(value, binding: binding)
                        precondition(opened.count == 256)
                    }
                })
            bestRaw = min(
                bestRaw,
                try time {
                    var nonce = [UInt8](repeating: 0, count: 24)
                    var ciphertext = [UInt8](repeating: 0, count: 256 + 16)
                    var output = [UInt8](repeating: 0, count: 256)
                    var length: UInt64 = 0
                    for _ in 0..<count {
                        randombytes_buf(&nonce, 24)
                        crypto_aead_xchacha20poly1305_ietf_encrypt(
                            &ciphertext, &length, plaintext, 256, rawAD, UInt64(rawAD.count), nil, nonce, rawKey)
                        guard
                            crypto_aead_xchacha20poly1305_ietf_decrypt(
                                &output, &length, nil, ciphertext, 272, rawAD, UInt64(rawAD.count), nonce, rawKey) == 0
                        else { throw ValidationError("raw decrypt failed") }
                    }
                    Wipe.bytes(&output)
                })
        }
        let layerRate = Double(count) / bestLayer, rawRate = Double(count) / bestRaw
        print("")
        print("work                                   hierarchy ops/s   raw libsodium ops/s   ratio")
        print(
            "encrypt+decrypt, 256-byte secret      " + String(format: "%-18.0f%-22.0f%.1f%%", layerRate, rawRate, layerRate / rawRate * 100)
        )
        await keys.seal()
        await db.close()
    }

    private func time(_ body: () throws -> Void) throws -> Double {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
