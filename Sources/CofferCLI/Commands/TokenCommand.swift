import ArgumentParser
import CofferCrypto
import Foundation

/// `coffer token …`: Vault's token commands against the running service. Tokens other than your own are
/// read from stdin or the terminal (never from arguments, which `ps` shows).
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, look up, renew and revoke tokens.",
        subcommands: [Create.self, Lookup.self, Renew.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a child token of yours (or an orphan); prints it once.")
        @OptionGroup var connection: Operator.Connection
        @Option(name: .customLong("policy"), help: "A policy for the new token (repeat for more).") var policies: [String] = []
        @Option(name: .long, help: "Time to live, e.g. 1h, 30m, 3600.") var ttl: String?
        @Option(name: .long, help: "A limit renewals never pass, e.g. 24h.") var explicitMaxTTL: String?
        @Option(name: .long, help: "Uses before the token is revoked (0: unlimited).") var useLimit = 0
        @Option(name: .long, help: "Name shown in audit entries.") var displayName: String?
        @Option(name: .long, help: "Metadata KEY=VALUE (repeat for more).") var metadata: [String] = []
        @Flag(name: .long, help: "No parent: the token survives the revocation of yours.") var orphan = false
        @Flag(name: .long, help: "Leave out the default policy.") var noDefaultPolicy = false
        @Flag(name: .long, help: "Print the JSON answer.") var json = false

        func run() async throws {
            var body: [String: Any] = ["num_uses": useLimit, "no_default_policy": noDefaultPolicy]
            if !policies.isEmpty { body["policies"] = policies }
            if let ttl { body["ttl"] = ttl }
            if let explicitMaxTTL { body["explicit_max_ttl"] = explicitMaxTTL }
            if let displayName { body["display_name"] = displayName }
            if !metadata.isEmpty {
                var meta: [String: String] = [:]
                for pair in metadata {
                    guard let equals = pair.firstIndex(of: "=") else {
                        throw ValidationError("metadata must be KEY=VALUE, not \"\(pair)\"")
                    }
                    meta[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
                }
                body["meta"] = meta
            }
            let reply = try await connection.client().sendJSON("POST", orphan ? "auth/token/create-orphan" : "auth/token/create", body)
            let answer = try Operator.json(reply)
            if json {
                print(String(decoding: reply.body, as: UTF8.self))
                return
            }
            let auth = answer["auth"] as? [String: Any] ?? [:]
            TokenCommand.printTable([
                ("token", "\(auth["client_token"] ?? "")"), ("token_accessor", "\(auth["accessor"] ?? "")"),
                ("token_duration", TokenCommand.duration(auth["lease_duration"] as? Int ?? 0)),
                ("token_renewable", "\(auth["renewable"] ?? false)"),
                ("token_policies", "\(auth["policies"] as? [String] ?? [])")
            ])
        }
    }

    struct Lookup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a token: yours, one by --accessor, or one read from stdin with --token-stdin.")
        @OptionGroup var connection: Operator.Connection
        @Option(name: .long, help: "Look up the token with this accessor.") var accessor: String?
        @Flag(name: .long, help: "Read the token to look up from stdin (or the terminal, hidden).") var tokenStdin = false
        @Flag(name: .long, help: "Print the JSON answer.") var json = false

        func run() async throws {
            let client = try connection.client()
            let reply: CofferClient.Reply
            if let accessor {
                reply = try await client.sendJSON("POST", "auth/token/lookup-accessor", ["accessor": accessor])
            } else if tokenStdin {
                reply = try await client.sendJSON("POST", "auth/token/lookup", ["token": try TokenCommand.readToken()])
            } else {
                reply = try await client.send("GET", "auth/token/lookup-self")
            }
            let data = try Operator.json(reply)["data"] as? [String: Any] ?? [:]
            if json {
                print(String(decoding: reply.body, as: UTF8.self))
                return
            }
            TokenCommand.printTable(data.keys.sorted().filter { $0 != "id" }.map { ($0, "\(data[$0].map { "\($0)" } ?? "")") })
        }
    }

    struct Renew: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Renew your token (or one by --accessor) by --increment, up to its limit.")
        @OptionGroup var connection: Operator.Connection
        @Option(name: .long, help: "Renew the token with this accessor.") var accessor: String?
        @Option(name: .long, help: "The new TTL from now, e.g. 1h (default: the token's creation TTL).") var increment: String?

        func run() async throws {
            var body: [String: Any] = [:]
            if let increment { body["increment"] = increment }
            if let accessor { body["accessor"] = accessor }
            let reply = try await connection.client().sendJSON(
                "POST", accessor == nil ? "auth/token/renew-self" : "auth/token/renew-accessor", body)
            let auth = try Operator.json(reply)["auth"] as? [String: Any] ?? [:]
            print("token_duration    \(TokenCommand.duration(auth["lease_duration"] as? Int ?? 0))")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token and its children: yours (--self), one by --accessor, or one read from stdin (--token-stdin).")
        @OptionGroup var connection: Operator.Connection
        @Flag(name: .customLong("self"), help: "Revoke your own token.") var revokeSelf = false
        @Option(name: .long, help: "Revoke the token with this accessor.") var accessor: String?
        @Flag(name: .long, help: "Read the token to revoke from stdin (or the terminal, hidden).") var tokenStdin = false
        @Flag(name: .long, help: "Revoke only this token: its children become orphans (needs sudo).") var orphan = false

        func validate() throws {
            guard [revokeSelf, accessor != nil, tokenStdin].filter({ $0 }).count == 1 else {
                throw ValidationError("say which token: exactly one of --self, --accessor A, --token-stdin")
            }
        }

        func run() async throws {
            let client = try connection.client()
            let reply: CofferClient.Reply
            if revokeSelf {
                reply = try await client.send("POST", "auth/token/revoke-self")
            } else if let accessor {
                reply = try await client.sendJSON("POST", "auth/token/revoke-accessor", ["accessor": accessor])
            } else {
                reply = try await client.sendJSON(
                    "POST", orphan ? "auth/token/revoke-orphan" : "auth/token/revoke", ["token": try TokenCommand.readToken()])
            }
            _ = try Operator.json(reply, expect: 204)
            print("Success! Revoked token (if it existed)")
        }
    }

    static func readToken() throws -> String {
        var bytes = try SecretInput.readLine(prompt: "Token (will be hidden): ")
        defer { Wipe.bytes(&bytes) }
        let token = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw ValidationError("no token was given on stdin") }
        return token
    }

    static func duration(_ seconds: Int) -> String {
        seconds == 0 ? "∞" : "\(seconds / 3600)h\(seconds % 3600 / 60)m\(seconds % 60)s"
    }

    static func printTable(_ rows: [(String, String)]) {
        let width = (rows.map(\.0.count).max() ?? 0) + 4
        print("Key".padding(toLength: width, withPad: " ", startingAt: 0) + "Value")
        print("---".padding(toLength: width, withPad: " ", startingAt: 0) + "-----")
        for (key, value) in rows { print(key.padding(toLength: width, withPad: " ", startingAt: 0) + value) }
    }
}
