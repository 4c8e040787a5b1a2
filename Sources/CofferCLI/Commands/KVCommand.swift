import ArgumentParser
import Foundation

/// `coffer kv …`: the vault CLI's KV version 2 commands against the running service.
///
/// Values are given as `key=value`, `key=@file` (the file's contents) or `key=-` (standard input).
/// `key=value` puts the value in the shell's history and in `ps` while the command runs: prefer `@file` or `-`
/// for real secrets.
struct KVCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kv",
        abstract: "Read and write versioned secrets (Vault's KV version 2).",
        subcommands: [
            Put.self, Get.self, Patch.self, List.self, Delete.self, Undelete.self, Destroy.self, Metadata.self, ImportEnv.self,
            ImportVault.self
        ]
    )

    /// The options every kv command shares.
    struct Target: ParsableArguments {
        @OptionGroup var connection: Operator.Connection
        @Option(name: [.customLong("mount", withSingleDash: true), .customLong("mount")], help: "The KV engine's mount.") var mount =
            "secret"
        @Argument(help: "The secret's path inside the mount, e.g. app/db.") var path: String

        func url(_ kind: String) -> String { "\(mount)/\(kind)/\(path)" }
    }

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a new version with the given keys (replacing all of them).")
        @OptionGroup var target: Target
        @Option(
            name: [.customLong("cas", withSingleDash: true), .customLong("cas")],
            help: "Write only if this is the current version (0: only if new).")
        var cas: Int?
        @Argument(help: "key=value, key=@file or key=- (stdin).") var pairs: [String] = []

        func run() async throws {
            let data = try KVCommand.values(pairs)
            var body: [String: Any] = ["data": data]
            if let cas { body["options"] = ["cas": cas] }
            let reply = try await target.connection.client().sendJSON("POST", target.url("data"), body)
            KVCommand.printVersion(try Operator.json(reply), path: target.path)
        }
    }

    struct Patch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change some keys of the current version (a JSON merge patch); a new version.")
        @OptionGroup var target: Target
        @Option(name: [.customLong("cas", withSingleDash: true), .customLong("cas")], help: "Patch only if this is the current version.")
        var cas: Int?
        @Argument(help: "key=value, key=@file or key=- (stdin).") var pairs: [String] = []

        func run() async throws {
            var body: [String: Any] = ["data": try KVCommand.values(pairs)]
            if let cas { body["options"] = ["cas": cas] }
            let reply = try await target.connection.client().send(
                "PATCH", target.url("data"), body: try JSONSerialization.data(withJSONObject: body),
                contentType: "application/merge-patch+json")
            KVCommand.printVersion(try Operator.json(reply), path: target.path)
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read a secret's current (or given) version.")
        @OptionGroup var target: Target
        @Option(
            name: [.customLong("version", withSingleDash: true), .customLong("version")],
            help: "The version to read (default: the current one).")
        var version: Int?
        @Option(
            name: [.customLong("label", withSingleDash: true), .customLong("label")],
            help: "A rotation's label instead of a version: current, pending or previous.")
        var label: String?
        @Option(name: [.customLong("field", withSingleDash: true), .customLong("field")], help: "Print only this key's value, as it is.")
        var field: String?
        @Option(name: [.customLong("format", withSingleDash: true), .customLong("format")], help: "table or json.") var format: Format =
            .table

        func run() async throws {
            var query = version.map { [URLQueryItem(name: "version", value: String($0))] } ?? []
            if let label { query.append(URLQueryItem(name: "label", value: label)) }
            let reply = try await target.connection.client().send("GET", target.url("data"), query: query)
            if reply.status == 404 {
                throw ClientError(
                    """
                    no value found at \(target.mount)/data/\(target.path)\(version.map { " version \($0)" } ?? "") (missing, \
                    deleted or destroyed)
                    """
                )
            }
            let answer = try Operator.json(reply)
            let data = (answer["data"] as? [String: Any])?["data"] as? [String: Any] ?? [:]
            if let field {
                guard let value = data[field] else { throw ClientError("the secret has no key \"\(field)\"") }
                print(value is String ? value as! String : KVCommand.json(value))
                return
            }
            if format == .json {
                print(String(decoding: reply.body, as: UTF8.self))
                return
            }
            let metadata = (answer["data"] as? [String: Any])?["metadata"] as? [String: Any] ?? [:]
            print("== Secret Path ==\n\(target.mount)/data/\(target.path)\n")
            print("======= Metadata =======")
            TokenCommand.printTable(
                ["created_time", "custom_metadata", "deletion_time", "destroyed", "version"].map { ($0, KVCommand.text(metadata[$0])) })
            print("\n====== Data ======")
            TokenCommand.printTable(data.keys.sorted().map { ($0, KVCommand.text(data[$0])) })
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys and folders under a path.")
        @OptionGroup var connection: Operator.Connection
        @Option(name: [.customLong("mount", withSingleDash: true), .customLong("mount")], help: "The KV engine's mount.") var mount =
            "secret"
        @Option(name: [.customLong("format", withSingleDash: true), .customLong("format")], help: "table or json.") var format: Format =
            .table
        @Argument(help: "The folder, e.g. app/ (empty for the top).") var path: String = ""

        func run() async throws {
            let reply = try await connection.client().send("LIST", "\(mount)/metadata/\(path)")
            if reply.status == 404 { throw ClientError("no keys under \(mount)/metadata/\(path)") }
            let keys = (try Operator.json(reply)["data"] as? [String: Any])?["keys"] as? [String] ?? []
            if format == .json {
                print(KVCommand.json(keys))
                return
            }
            print("Keys\n----")
            keys.forEach { print($0) }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Soft-delete the current version, or --versions (undelete brings them back).")
        @OptionGroup var target: Target
        @Option(name: [.customLong("versions", withSingleDash: true), .customLong("versions")], help: "Comma-separated versions.")
        var versions: String?

        func run() async throws {
            let client = try target.connection.client()
            let reply: CofferClient.Reply
            if let versions {
                reply = try await client.sendJSON("POST", target.url("delete"), ["versions": try KVCommand.numbers(versions)])
            } else {
                reply = try await client.send("DELETE", target.url("data"))
            }
            _ = try Operator.json(reply, expect: 204)
            print("Success! Data deleted (if it existed) at: \(target.mount)/data/\(target.path)")
        }
    }

    struct Undelete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Undelete soft-deleted versions.")
        @OptionGroup var target: Target
        @Option(name: [.customLong("versions", withSingleDash: true), .customLong("versions")], help: "Comma-separated versions.")
        var versions: String

        func run() async throws {
            let reply = try await target.connection.client().sendJSON(
                "POST", target.url("undelete"), ["versions": try KVCommand.numbers(versions)])
            _ = try Operator.json(reply, expect: 204)
            print("Success! Data written to: \(target.mount)/undelete/\(target.path)")
        }
    }

    struct Destroy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Destroy versions for good (their data is erased).")
        @OptionGroup var target: Target
        @Option(name: [.customLong("versions", withSingleDash: true), .customLong("versions")], help: "Comma-separated versions.")
        var versions: String

        func run() async throws {
            let reply = try await target.connection.client().sendJSON(
                "POST", target.url("destroy"), ["versions": try KVCommand.numbers(versions)])
            _ = try Operator.json(reply, expect: 204)
            print("Success! Data written to: \(target.mount)/destroy/\(target.path)")
        }
    }

    struct Metadata: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read, write or delete a secret's metadata.",
            subcommands: [MetadataGet.self, MetadataPut.self, MetadataDelete.self])
    }

    struct MetadataGet: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "get", abstract: "Show the metadata and every version's state.")
        @OptionGroup var target: Target
        @Option(name: [.customLong("format", withSingleDash: true), .customLong("format")], help: "table or json.") var format: Format =
            .table

        func run() async throws {
            let reply = try await target.connection.client().send("GET", target.url("metadata"))
            if reply.status == 404 { throw ClientError("no metadata at \(target.mount)/metadata/\(target.path)") }
            let data = try Operator.json(reply)["data"] as? [String: Any] ?? [:]
            if format == .json {
                print(String(decoding: reply.body, as: UTF8.self))
                return
            }
            TokenCommand.printTable(data.keys.sorted().filter { $0 != "versions" }.map { ($0, KVCommand.text(data[$0])) })
            let versions = data["versions"] as? [String: Any] ?? [:]
            for key in versions.keys.sorted(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }) {
                print("\n====== Version \(key) ======")
                let version = versions[key] as? [String: Any] ?? [:]
                TokenCommand.printTable(version.keys.sorted().map { ($0, KVCommand.text(version[$0])) })
            }
        }
    }

    struct MetadataPut: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "put", abstract: "Set metadata fields (creates the metadata if needed).")
        @OptionGroup var target: Target
        @Option(name: [.customLong("max-versions", withSingleDash: true), .customLong("max-versions")]) var maxVersions: Int?
        @Option(name: [.customLong("cas-required", withSingleDash: true), .customLong("cas-required")]) var casRequired: Bool?
        @Option(name: [.customLong("delete-version-after", withSingleDash: true), .customLong("delete-version-after")])
        var deleteVersionAfter: String?
        @Option(
            name: [.customLong("custom-metadata", withSingleDash: true), .customLong("custom-metadata")],
            help: "key=value (repeat for more).")
        var customMetadata: [String] = []
        @Option(name: .customLong("expires-at"), help: "RFC 3339 time after which reads answer 404 (\"\" clears it).") var expiresAt:
            String?
        @Option(name: .customLong("rotation-interval"), help: "How often the rotation runner rotates it, e.g. 720h (0 stops).")
        var rotationInterval: String?
        @Option(name: .customLong("rotation-kind"), help: "The rotator: random, postgres-password, …") var rotationKind: String?
        @Option(
            name: .customLong("rotation-schedule"), help: "A cron schedule in UTC instead of an interval, e.g. '0 3 * * 1' (\"\" clears).")
        var rotationSchedule: String?
        @Option(
            name: .customLong("rotation-settings"),
            help: "The rotator's settings, a JSON object, e.g. '{\"field\":\"api_key\",\"length\":40}'.")
        var rotationSettings: String?

        func run() async throws {
            var body: [String: Any] = [:]
            if let maxVersions { body["max_versions"] = maxVersions }
            if let casRequired { body["cas_required"] = casRequired }
            if let deleteVersionAfter { body["delete_version_after"] = deleteVersionAfter }
            if !customMetadata.isEmpty {
                var custom: [String: String] = [:]
                for pair in customMetadata {
                    guard let equals = pair.firstIndex(of: "=") else {
                        throw ValidationError("custom metadata must be key=value, not \"\(pair)\"")
                    }
                    custom[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
                }
                body["custom_metadata"] = custom
            }
            if let expiresAt { body["expires_at"] = expiresAt }
            if let rotationInterval { body["rotation_interval"] = rotationInterval }
            if let rotationKind { body["rotation_kind"] = rotationKind }
            if let rotationSchedule { body["rotation_schedule"] = rotationSchedule }
            if let rotationSettings {
                guard let object = (try? JSONSerialization.jsonObject(with: Data(rotationSettings.utf8))) as? [String: Any] else {
                    throw ValidationError("-rotation-settings must be a JSON object, such as '{\"length\": 40}'")
                }
                body["rotation_settings"] = object
            }
            let reply = try await target.connection.client().sendJSON("POST", target.url("metadata"), body)
            _ = try Operator.json(reply, expect: 204)
            print("Success! Data written to: \(target.mount)/metadata/\(target.path)")
        }
    }

    struct MetadataDelete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete", abstract: "Delete the secret: every version and its metadata.")
        @OptionGroup var target: Target

        func run() async throws {
            _ = try Operator.json(try await target.connection.client().send("DELETE", target.url("metadata")), expect: 204)
            print("Success! Data deleted (if it existed) at: \(target.mount)/metadata/\(target.path)")
        }
    }

    // MARK: helpers

    /// `key=value`, `key=@file`, `key=-` pairs as the data object. Stdin is read once, for at most one key.
    static func values(_ pairs: [String]) throws -> [String: String] {
        guard !pairs.isEmpty else { throw ValidationError("give at least one key=value (or key=@file, key=-)") }
        var data: [String: String] = [:]
        var stdinUsed = false
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("arguments must be key=value, key=@file or key=- (one of them is not)")
            }
            let key = String(pair[..<equals])
            let raw = pair[pair.index(after: equals)...]
            if raw == "-" {
                guard !stdinUsed else { throw ValidationError("only one key can read standard input (key=-)") }
                stdinUsed = true
                var text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                if text.hasSuffix("\n") { text.removeLast() }
                data[key] = text
            } else if raw.hasPrefix("@") {
                let path = String(raw.dropFirst())
                guard let contents = FileManager.default.contents(atPath: path) else {
                    throw ValidationError("cannot read \(path) for key \(key)")
                }
                data[key] = String(decoding: contents, as: UTF8.self)
            } else {
                data[key] = String(raw)
            }
        }
        return data
    }

    static func numbers(_ text: String) throws -> [Int] {
        try text.split(separator: ",").map { part in
            guard let number = Int(part.trimmingCharacters(in: .whitespaces)), number > 0 else {
                throw ValidationError("versions must be positive numbers separated by commas, e.g. 1,2")
            }
            return number
        }
    }

    static func printVersion(_ answer: [String: Any], path: String) {
        let data = answer["data"] as? [String: Any] ?? [:]
        TokenCommand.printTable(["created_time", "custom_metadata", "deletion_time", "destroyed", "version"].map { ($0, text(data[$0])) })
    }

    static func text(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: "<nil>"
        case let string as String: string
        case let value?: json(value)
        }
    }

    static func json(_ value: Any) -> String {
        guard JSONSerialization.isValidJSONObject([value]),
            let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys, .withoutEscapingSlashes])
        else { return "\(value)" }
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }
}

extension KVCommand {
    /// `coffer kv import-env`: environment variables (or a dotenv file) into one secret, the seed's
    /// "environment variables → api_credentials" path. Idempotent: an unchanged import writes no version.
    struct ImportEnv: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-env",
            abstract: "Store environment variables (or a dotenv file) as one secret; writes nothing when unchanged.")
        @OptionGroup var target: Target
        @Option(name: .long, help: "Only variables whose names start with this, e.g. APP_.") var prefix: String?
        @Flag(name: .long, help: "Store the names without the prefix.") var stripPrefix = false
        @Option(name: .customLong("from-file"), help: "Read a dotenv file instead of this process's environment.") var fromFile: String?

        func run() async throws {
            var variables: [String: String] = [:]
            if let fromFile {
                guard let contents = FileManager.default.contents(atPath: fromFile) else { throw ClientError("cannot read \(fromFile)") }
                do {
                    for (key, value) in try DotEnv.parse(String(decoding: contents, as: UTF8.self)) { variables[key] = value }
                } catch let error as DotEnv.ParseError {
                    throw ClientError("\(fromFile) \(error.description)")
                }
            } else {
                variables = ProcessInfo.processInfo.environment
            }
            var data: [String: String] = [:]
            for (name, value) in variables {
                // Coffer's own settings (the token above all) are never imported from the environment.
                if fromFile == nil, name.hasPrefix("COFFER_") { continue }
                if let prefix {
                    guard name.hasPrefix(prefix) else { continue }
                    data[stripPrefix ? String(name.dropFirst(prefix.count)) : name] = value
                } else {
                    data[name] = value
                }
            }
            data = data.filter { !$0.key.isEmpty }
            guard !data.isEmpty else {
                throw ClientError("no variables matched\(prefix.map { " the prefix \($0)" } ?? ""): nothing was stored")
            }

            let client = try target.connection.client()
            let current = try await client.send("GET", target.url("data"))
            var cas = 0
            if current.status == 200 {
                let answer = try Operator.json(current)
                let existing = (answer["data"] as? [String: Any])?["data"] as? [String: Any] ?? [:]
                cas = ((answer["data"] as? [String: Any])?["metadata"] as? [String: Any])?["version"] as? Int ?? 0
                if existing.count == data.count, data.allSatisfy({ existing[$0.key] as? String == $0.value }) {
                    print(
                        """
                        Unchanged: \(target.mount)/data/\(target.path) already holds these \(data.count) variables (version \
                        \(cas)); nothing written.
                        """
                    )
                    return
                }
            } else if current.status == 404 {
                // A deleted current version still has a number: write after it.
                let metadata = try await client.send("GET", target.url("metadata"))
                if metadata.status == 200 { cas = (try Operator.json(metadata)["data"] as? [String: Any])?["current_version"] as? Int ?? 0 }
            } else {
                _ = try Operator.json(current)
            }
            let reply = try await client.sendJSON("POST", target.url("data"), ["options": ["cas": cas], "data": data])
            let version = (try Operator.json(reply)["data"] as? [String: Any])?["version"] as? Int ?? 0
            // Names only: the values are secrets.
            print(
                """
                Imported \(data.count) variables into \(target.mount)/data/\(target.path) as version \(version): \
                \(data.keys.sorted().joined(separator: ", "))
                """
            )
        }
    }
}
