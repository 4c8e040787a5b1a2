import ArgumentParser
import CofferCrypto
import Foundation

/// `coffer operator …`: init, unseal, seal, status, rotate, key-status: HTTP calls to the running
/// service, which alone holds the keys, as `vault operator` calls Vault.
struct Operator: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Initialise, unseal, seal and rotate the keys of a running Coffer.",
        subcommands: [Init.self, Unseal.self, Seal.self, SealStatus.self, Rotate.self, Rewrap.self, Rekey.self, KeyStatus.self, Backup.self]
    )

    struct Connection: ParsableArguments {
        @Option(name: .long, help: "Address of the service (env COFFER_ADDR; default http://127.0.0.1:8200).")
        var address: String?

        func client() throws -> CofferClient { try CofferClient(address: address) }
    }

    static func json(_ reply: CofferClient.Reply, expect status: Int = 200) throws -> [String: Any] {
        guard reply.status == status else {
            throw ClientError(
                "Coffer answered \(reply.status): \(reply.errors.isEmpty ? "no detail" : reply.errors.joined(separator: "; "))",
                transient: reply.status == 503 || reply.status == 429)
        }
        return (try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any] ?? [:]
    }

    static func printSealStatus(_ body: [String: Any]) {
        let rows: [(String, String)] = [
            ("Seal Type", "\(body["type"] ?? "?")"),
            ("Initialized", "\((body["initialized"] as? Bool).map { "\($0)" } ?? "?")"),
            ("Sealed", "\((body["sealed"] as? Bool).map { "\($0)" } ?? "?")"),
            ("Total Shares", "\(body["n"] ?? "?")"),
            ("Threshold", "\(body["t"] ?? "?")"),
            ("Unseal Progress", "\(body["progress"] ?? 0)/\(body["t"] ?? "?")"),
            ("Version", "\(body["version"] ?? "?")"),
            ("Storage Type", "\(body["storage_type"] ?? "?")")
        ]
        let width = rows.map(\.0.count).max() ?? 0
        for (key, value) in rows { print(key.padding(toLength: width + 3, withPad: " ", startingAt: 0) + value) }
    }

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Initialise the key hierarchy; prints the unseal keys and the initial root token once.")

        @OptionGroup var connection: Connection
        @Option(name: .long, help: "Number of Shamir shares.") var shares = 5
        @Option(name: .long, help: "Shares needed to unseal.") var threshold = 3
        @Option(name: .long, help: "Use a passphrase (Argon2id) read from this file instead of shares.") var passphraseFile: String?
        @Option(name: .long, help: "Write the root key to this new file (mode 0600) for automated unseal, instead of shares.") var keyFile:
            String?

        func run() async throws {
            guard passphraseFile == nil || keyFile == nil else { throw ValidationError("choose one of --passphrase-file and --key-file") }
            if let keyFile, FileManager.default.fileExists(atPath: keyFile) {
                throw ValidationError("\(keyFile) already exists: choose a new path so that no key is overwritten")
            }
            var body: [String: Any] = ["secret_shares": shares, "secret_threshold": threshold]
            if let passphraseFile {
                guard let data = FileManager.default.contents(atPath: passphraseFile) else {
                    throw ValidationError("cannot read the passphrase file \(passphraseFile)")
                }
                body = [
                    "unseal_method": "passphrase",
                    "passphrase": String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
                ]
            } else if keyFile != nil {
                body = ["unseal_method": "keyfile"]
            }
            let reply = try await connection.client().send("PUT", "sys/init", body: try JSONSerialization.data(withJSONObject: body))
            let answer = try Operator.json(reply)
            let keys = answer["keys_base64"] as? [String] ?? []
            let token = answer["root_token"] as? String ?? ""
            if let keyFile {
                guard let key = keys.first,
                    FileManager.default.createFile(atPath: keyFile, contents: Data(key.utf8), attributes: [.posixPermissions: 0o600])
                else { throw ClientError("Coffer was initialised but the key could not be written to \(keyFile)") }
                print("Root key written to \(keyFile) (mode 0600). Start the service with --unseal-key-file \(keyFile).")
            } else if passphraseFile == nil {
                for (index, key) in keys.enumerated() { print("Unseal Key \(index + 1): \(key)") }
                print("")
                print("Coffer initialised with \(keys.count) key shares and a key threshold of \(threshold).")
                print("Store the shares apart; they are not shown again. Unseal with `coffer operator unseal`, \(threshold) times.")
            } else {
                print("Coffer initialised with a passphrase. Unseal with `coffer operator unseal` and the passphrase.")
            }
            print("")
            print("Initial Root Token: \(token)")
        }
    }

    struct Unseal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enter one unseal share (or the passphrase); read without echo from the terminal, or from stdin.")

        @OptionGroup var connection: Connection
        @Flag(name: .long, help: "Discard the shares entered so far.") var reset = false

        func run() async throws {
            let client = try connection.client()
            let body: Data
            if reset {
                body = try JSONSerialization.data(withJSONObject: ["reset": true])
            } else {
                var secret = try SecretInput.readLine(prompt: "Unseal Key (will be hidden): ")
                defer { Wipe.bytes(&secret) }
                body = try JSONSerialization.data(withJSONObject: ["key": String(decoding: secret, as: UTF8.self)])
            }
            let answer = try Operator.json(try await client.send("PUT", "sys/unseal", body: body))
            Operator.printSealStatus(answer)
            if answer["sealed"] as? Bool == true { throw ExitCode(2) }
        }
    }

    struct Seal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Seal: the service drops every key from memory (needs the root token in COFFER_TOKEN).")
        @OptionGroup var connection: Connection

        func run() async throws {
            _ = try Operator.json(try await connection.client().send("PUT", "sys/seal"), expect: 204)
            print("Success! Coffer is sealed.")
        }
    }

    struct SealStatus: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the seal status; exit 2 when sealed.")
        @OptionGroup var connection: Connection

        func run() async throws {
            let answer = try Operator.json(try await connection.client().send("GET", "sys/seal-status"))
            Operator.printSealStatus(answer)
            if answer["sealed"] as? Bool == true { throw ExitCode(2) }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new data-encryption key term; new writes use it, older terms still decrypt (needs the root token).")
        @OptionGroup var connection: Connection

        func run() async throws {
            let client = try connection.client()
            _ = try Operator.json(try await client.send("PUT", "sys/rotate"), expect: 204)
            let status = try Operator.json(try await client.send("GET", "sys/key-status"))
            print("Success! Rotated key")
            print("Key Term        \(status["term"] ?? "?")")
            print("Install Time    \(status["install_time"] ?? "?")")
        }
    }

    struct Rewrap: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-encrypt every record still on an older key term with the newest, in batches (needs the root token).",
            discussion: "Safe while the service serves and resumable: run it again after an interruption.")
        @OptionGroup var connection: Connection
        @Option(name: .long, help: "Records per request.") var batchSize = 500
        @Flag(name: .long, help: "When nothing remains on older terms, retire them (they are no longer loaded at unseal).") var retire =
            false

        func run() async throws {
            let client = try connection.client()
            var total = 0
            let terminal = isatty(STDOUT_FILENO) == 1
            while true {
                let body = try JSONSerialization.data(withJSONObject: ["batch_size": batchSize, "retire": retire])
                let answer = try Operator.json(try await client.send("PUT", "sys/rewrap", body: body))
                let rewrapped = answer["rewrapped"] as? Int ?? 0, remaining = answer["remaining"] as? Int ?? 0
                let moved = rewrapped + (answer["retagged"] as? Int ?? 0)
                total += moved
                let line = "Rewrapped \(total) record(s) and row tag(s) onto term \(answer["active_term"] ?? "?"); \(remaining) remaining"
                if terminal { print("\r" + line, terminator: "") } else { print(line) }
                if remaining == 0 {
                    if terminal { print("") }
                    if let retired = answer["retired_terms"] as? [Int], !retired.isEmpty {
                        print("Retired term(s): \(retired.map(String.init).joined(separator: ", "))")
                    }
                    return
                }
                if moved == 0 {
                    throw ClientError("no progress: \(remaining) record(s) could not be rewrapped (concurrent writes?); run again")
                }
            }
        }
    }

    struct Rekey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the root key and unseal method, authorised by the current unseal keys.",
            discussion: """
                Asks for the current unseal keys (without echo on a terminal, or one a line on stdin), prints the new \
                shares (or writes the new key file), then asks for enough new shares to prove they were kept. Nothing \
                changes until that verification: an interruption leaves the current keys working.
                """)

        @OptionGroup var connection: Connection
        @Option(name: .long, help: "Number of new Shamir shares.") var shares = 5
        @Option(name: .long, help: "New shares needed to unseal.") var threshold = 3
        @Option(name: .long, help: "Switch to a passphrase (Argon2id) read from this file.") var passphraseFile: String?
        @Option(name: .long, help: "Switch to a key file written to this new path (mode 0600).") var keyFile: String?

        func run() async throws {
            guard passphraseFile == nil || keyFile == nil else { throw ValidationError("choose one of --passphrase-file and --key-file") }
            if let keyFile, FileManager.default.fileExists(atPath: keyFile) {
                throw ValidationError("\(keyFile) already exists: choose a new path so that no key is overwritten")
            }
            let client = try connection.client()
            var body: [String: Any] = ["secret_shares": shares, "secret_threshold": threshold]
            var passphrase: String?
            if let passphraseFile {
                guard let data = FileManager.default.contents(atPath: passphraseFile) else {
                    throw ValidationError("cannot read the passphrase file \(passphraseFile)")
                }
                passphrase = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
                body = ["unseal_method": "passphrase", "passphrase": passphrase ?? ""]
            } else if keyFile != nil {
                body = ["unseal_method": "keyfile"]
            }
            let started = try Operator.json(
                try await client.send("PUT", "sys/rekey/init", body: try JSONSerialization.data(withJSONObject: body)))
            guard let nonce = started["nonce"] as? String, let required = started["required"] as? Int else {
                throw ClientError("Coffer did not start a rekey")
            }
            var newKeys: [String] = []
            for index in 1...max(required, 1) {
                var secret = try SecretInput.readLine(prompt: "Current unseal key \(index) of \(required) (will be hidden): ")
                defer { Wipe.bytes(&secret) }
                let update = try JSONSerialization.data(withJSONObject: ["key": String(decoding: secret, as: UTF8.self), "nonce": nonce])
                let answer = try Operator.json(try await client.send("PUT", "sys/rekey/update", body: update))
                if answer["complete"] as? Bool == true {
                    newKeys = answer["keys_base64"] as? [String] ?? []
                    break
                }
            }
            guard !newKeys.isEmpty || passphrase != nil else {
                throw ClientError("the rekey did not complete: enter the remaining current keys")
            }
            var proofs: [String]
            if let keyFile {
                guard let key = newKeys.first,
                    FileManager.default.createFile(atPath: keyFile, contents: Data(key.utf8), attributes: [.posixPermissions: 0o600]),
                    let written = FileManager.default.contents(atPath: keyFile)
                else { throw ClientError("the new key could not be written to \(keyFile); the current keys still work") }
                proofs = [String(decoding: written, as: UTF8.self)] // verify what is on disk, not what is in memory
            } else if let passphrase {
                proofs = [passphrase]
            } else {
                for (index, key) in newKeys.enumerated() { print("New Unseal Key \(index + 1): \(key)") }
                print("")
                print("Store the new shares apart, then enter \(threshold) of them to verify; until then the current keys stay in force.")
                proofs = []
                for index in 1...threshold {
                    var secret = try SecretInput.readLine(prompt: "New unseal key \(index) of \(threshold) (will be hidden): ")
                    proofs.append(String(decoding: secret, as: UTF8.self))
                    Wipe.bytes(&secret)
                }
            }
            for proof in proofs {
                let verify = try JSONSerialization.data(withJSONObject: ["key": proof, "nonce": nonce])
                let answer = try Operator.json(try await client.send("PUT", "sys/rekey/verify", body: verify))
                if answer["complete"] as? Bool == true {
                    print("Success! Rekeyed: the new keys are in force and the old ones no longer unseal.")
                    return
                }
            }
            throw ClientError("verification did not complete; the current keys still work (cancel with DELETE sys/rekey/init)")
        }
    }

    struct KeyStatus: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "key-status", abstract: "Show the active key term (needs the root token).")
        @OptionGroup var connection: Connection

        func run() async throws {
            let status = try Operator.json(try await connection.client().send("GET", "sys/key-status"))
            print("Key Term        \(status["term"] ?? "?")")
            print("Install Time    \(status["install_time"] ?? "?")")
            for term in status["terms"] as? [[String: Any]] ?? [] {
                print("  term \(term["term"] ?? "?"): \(term["status"] ?? "?")")
            }
        }
    }
}
