import ArgumentParser
import Foundation

/// `coffer cache …`: the persistent cache on the running service (Docs/SUITE.md).
struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Get, put and delete cache entries; statistics, warming and purging by namespace.",
        subcommands: [Get.self, Put.self, Delete.self, Stats.self, Warm.self, Purge.self]
    )

    static func path(_ namespace: String, _ key: String) -> String {
        "coffer/cache/entries/\(ModelCommand.segment(namespace))/\(ModelCommand.segment(key))"
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an entry's value (exit 1 when absent).")
        @OptionGroup var connection: Operator.Connection
        @Argument var namespace: String
        @Argument var key: String

        func run() async throws {
            let reply = try await connection.client().send("GET", CacheCommand.path(namespace, key))
            if reply.status == 404 {
                FileHandle.standardError.write(Data("No entry \(namespace)/\(key).\n".utf8))
                throw ExitCode(1)
            }
            let answer = try Operator.json(reply)
            for warning in answer["warnings"] as? [String] ?? [] { FileHandle.standardError.write(Data("Warning: \(warning)\n".utf8)) }
            print((answer["data"] as? [String: Any])?["value"] as? String ?? "")
        }
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Store a value (not for secrets: use kv).")
        @OptionGroup var connection: Operator.Connection
        @Argument var namespace: String
        @Argument var key: String
        @Argument(help: "The value; - reads it from standard input.") var value: String
        @Option(name: .long, help: "Expire after this long, e.g. 10m (default never).") var ttl: String?
        @Option(name: .long, help: "Take up to this fraction (0–1) off the TTL at random.") var jitter: Double?

        func run() async throws {
            let text = value == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : value
            var body: [String: Any] = ["value": text]
            if let ttl { body["ttl"] = ttl }
            if let jitter { body["jitter"] = jitter }
            let answer = try Operator.json(try await connection.client().sendJSON("PUT", CacheCommand.path(namespace, key), body))
            for warning in answer["warnings"] as? [String] ?? [] { FileHandle.standardError.write(Data("Warning: \(warning)\n".utf8)) }
            let expires = (answer["data"] as? [String: Any])?["expires_time"] as? String
            print("Stored \(namespace)/\(key)\(expires.map { ", expires \($0)" } ?? "")")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an entry.")
        @OptionGroup var connection: Operator.Connection
        @Argument var namespace: String
        @Argument var key: String

        func run() async throws {
            let reply = try await connection.client().send("DELETE", CacheCommand.path(namespace, key))
            if reply.status == 404 {
                print("No entry \(namespace)/\(key).")
                return
            }
            _ = try Operator.json(reply, expect: 204)
            print("Deleted \(namespace)/\(key)")
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A namespace's entries, bytes, hits, misses, evictions; or every namespace's.")
        @OptionGroup var connection: Operator.Connection
        @Argument var namespace: String?

        func run() async throws {
            let client = try connection.client()
            var namespaces = namespace.map { [$0] } ?? []
            if namespace == nil {
                let reply = try await client.send("GET", "coffer/cache/namespaces", query: [URLQueryItem(name: "list", value: "true")])
                if reply.status == 404 {
                    print("No namespaces.")
                    return
                }
                namespaces = (try Operator.json(reply)["data"] as? [String: Any])?["keys"] as? [String] ?? []
            }
            var rows: [[String]] = []
            for name in namespaces {
                let data =
                    (try Operator.json(try await client.send("GET", "coffer/cache/stats/\(ModelCommand.segment(name))"))["data"]
                        as? [String: Any]) ?? [:]
                rows.append([
                    name, "\(data["entries"] ?? 0)", "\(data["bytes"] ?? 0)", "\(data["hits"] ?? 0)", "\(data["misses"] ?? 0)",
                    String(format: "%.1f%%", 100 * (data["hit_rate"] as? Double ?? 0)), "\(data["evictions"] ?? 0)",
                    "\(data["expirations"] ?? 0)",
                    "\(data["memory_entries"] ?? 0)", (data["warm"] as? Bool ?? false) ? "yes" : "no"
                ])
            }
            RotateCommand.printColumns(
                ["namespace", "entries", "bytes", "hits", "misses", "hit rate", "evictions", "expired", "in memory", "warm"], rows)
        }
    }

    struct Warm: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mark a namespace warm (loaded into memory now and at start-up), or --off.")
        @OptionGroup var connection: Operator.Connection
        @Argument var namespace: String
        @Flag(name: .long, help: "Stop warming it.") var off = false

        func run() async throws {
            let answer = try Operator.json(
                try await connection.client().sendJSON("POST", "coffer/cache/warm/\(ModelCommand.segment(namespace))", ["warm": !off]))
            print(
                off
                    ? "\(namespace) is no longer warmed"
                    : "\(namespace) is warm; loaded \((answer["data"] as? [String: Any])?["loaded"] ?? 0) entries")
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete every entry of a namespace.")
        @OptionGroup var connection: Operator.Connection
        @Argument var namespace: String

        func run() async throws {
            let answer = try Operator.json(
                try await connection.client().send("POST", "coffer/cache/purge/\(ModelCommand.segment(namespace))"))
            print("Purged \((answer["data"] as? [String: Any])?["removed"] ?? 0) entries from \(namespace)")
        }
    }
}
