@testable import CofferCrypto
import CofferTesting
import Foundation
import Testing

/// CofferCrypto against an independent implementation: PyNaCl, with its own libsodium build, computes
/// the same operations on the same inputs. Needs `COFFER_TEST_PYTHON` (a Python with pynacl; `make test`
/// and `.ci/run` make one); under CI it cannot be skipped.
@Suite(.enabled(if: TestPython.available, "set COFFER_TEST_PYTHON to a python with pynacl to check against PyNaCl"))
struct VectorTests {
    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test func matchesPyNaCl() async throws {
        let aeadKey = SecureBytes.random(count: 32), plaintext = Random.bytes(256), ad = Array("api_credentials|42|3".utf8)
        let nonce = Random.bytes(24), hashData = Random.bytes(1000), hashKey = SecureBytes.random(count: 32)
        let master = SecureBytes.random(count: 32), passphrase = Array("correct horse battery staple".utf8)
        let salt = Random.bytes(16), seed = SecureBytes.random(count: 32), message = Random.bytes(77)
        let inputs: [String: String] = [
            "aead_key": hex(aeadKey.unprotectedCopy()), "aead_plaintext": hex(plaintext), "aead_ad": hex(ad), "aead_nonce": hex(nonce),
            "hash_data": hex(hashData), "hash_key": hex(hashKey.unprotectedCopy()),
            "kdf_master": hex(master.unprotectedCopy()), "kdf_id": "7", "kdf_context": "coffer01",
            "pw_passphrase": hex(passphrase), "pw_salt": hex(salt), "pw_ops": "2", "pw_mem": "\(8 << 20)",
            "sign_seed": hex(seed.unprotectedCopy()), "sign_message": hex(message)
        ]
        let expected = try TestPython.run(script: "Vectors/pynacl_vectors.py", relativeTo: #filePath, input: inputs)

        let box = try plaintext.withUnsafeBytes { try AEAD.seal($0, key: aeadKey, associatedData: ad, nonce: nonce) }
        #expect(hex(box.ciphertext) == expected["aead"])
        #expect(try hex(BLAKE2b.hash(hashData)) == expected["blake2b"])
        #expect(try hex(BLAKE2b.hash(hashData, key: hashKey)) == expected["blake2b_keyed"])
        #expect(try hex(KDF.derive(from: master, id: 7, context: "coffer01").unprotectedCopy()) == expected["kdf"])
        let derived = try Argon2id.deriveKey(
            passphrase: SecureBytes(copying: passphrase),
            parameters: .init(opsLimit: 2, memLimit: 8 << 20, salt: salt))
        #expect(hex(derived.unprotectedCopy()) == expected["argon2id"])
        let signer = try Ed25519SigningKey(seed: seed)
        #expect(hex(signer.publicKey) == expected["ed25519_public"])
        #expect(hex(signer.sign(message)) == expected["ed25519_signature"])
    }
}

extension TestPython {
    static func run(script: String, relativeTo file: String, input: [String: String]) throws -> [String: String] {
        guard let python = path else {
            throw TestSetupError("CI=true but COFFER_TEST_PYTHON is not set: the PyNaCl checks cannot be skipped")
        }
        let folder = URL(fileURLWithPath: file).deletingLastPathComponent()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [folder.appendingPathComponent(script).path]
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(try JSONEncoder().encode(input))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSetupError("\(script) failed: " + String(decoding: errors, as: UTF8.self))
        }
        return try JSONDecoder().decode([String: String].self, from: output)
    }
}
