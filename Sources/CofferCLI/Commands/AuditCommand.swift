import ArgumentParser
import CofferAccess
import CofferCrypto
import CofferFoundation
import Foundation

/// `coffer audit …`: the security team's view of the trail (the `audit` capability; the `auditor` policy).
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Query, export, follow, verify and hash against the tamper-evident audit trail.",
        subcommands: [Query.self, Export.self, Tail.self, Verify.self, Hash.self, PublicKey.self]
    )

    struct Filters: ParsableArguments {
        @Option(name: .long, help: "Token accessor.") var accessor: String?
        @Option(name: .long, help: "Display name.") var displayName: String?
        @Option(name: .long, help: "Path glob as in policies, e.g. secret/data/app/*.") var path: String?
        @Option(name: .long, help: "Operation: read, list, write, patch, delete.") var operation: String?
        @Option(name: .long, help: "Decision: allow, deny, open, error.") var decision: String?
        @Option(name: .long, help: "HTTP status of the response entry.") var status: Int?
        @Option(name: .long, help: "From this time (RFC 3339).") var since: String?
        @Option(name: .long, help: "Until this time (RFC 3339).") var until: String?

        var query: [URLQueryItem] {
            [
                ("accessor", accessor), ("display_name", displayName), ("path", path), ("operation", operation), ("decision", decision),
                ("status", status.map(String.init)), ("since", since), ("until", until)
            ].compactMap { key, value in
                value.map { URLQueryItem(name: key, value: $0) }
            }
        }
    }

    static func entries(_ client: CofferClient, _ query: [URLQueryItem]) async throws -> [[String: Any]] {
        let data = try Operator.json(try await client.send("GET", "sys/audit-trail/entries", query: query))["data"] as? [String: Any]
        return data?["entries"] as? [[String: Any]] ?? []
    }

    static func line(_ entry: [String: Any]) -> String {
        let fields = ["sequence", "time", "kind", "display_name", "accessor", "operation", "path", "decision", "status"]
        return fields.map { "\(entry[$0] ?? "")" }.joined(separator: "  ")
    }

    struct Query: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Entries matching the filters, oldest first.")
        @OptionGroup var connection: Operator.Connection
        @OptionGroup var filters: Filters
        @Option(name: .long, help: "Most entries to show (1 to 10000).") var limit = 100
        @Option(name: .long, help: "Only entries after this sequence number.") var after: Int64?
        @Flag(name: .long, help: "One JSON object per line.") var json = false

        func run() async throws {
            var query = filters.query + [URLQueryItem(name: "limit", value: String(limit))]
            if let after { query.append(URLQueryItem(name: "after", value: String(after))) }
            for entry in try await AuditCommand.entries(try connection.client(), query) {
                if json {
                    print(
                        String(
                            decoding: try JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys, .withoutEscapingSlashes]),
                            as: UTF8.self))
                } else {
                    print(AuditCommand.line(entry))
                }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The whole trail as JSON lines (for a SIEM, or offline verification).")
        @OptionGroup var connection: Operator.Connection
        @Option(name: .long, help: "Format; jsonl is the one there is.") var format = "jsonl"
        @Option(name: .long, help: "Write to this file instead of stdout.") var output: String?
        @Option(name: .long, help: "Only entries after this sequence number.") var after: Int64 = 0

        func validate() throws {
            guard format == "jsonl" else { throw ValidationError("unknown format \"\(format)\": use jsonl") }
        }

        func run() async throws {
            let reply = try await connection.client().send(
                "GET", "sys/audit-trail/export", query: [URLQueryItem(name: "after", value: String(after))])
            guard reply.status == 200 else {
                _ = try Operator.json(reply)
                return
            }
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: reply.body, attributes: [.posixPermissions: 0o600]) else {
                    throw ClientError("cannot write \(output)")
                }
            } else {
                FileHandle.standardOutput.write(reply.body)
            }
        }
    }

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The newest entries; with -f, keep printing new ones as they come.")
        @OptionGroup var connection: Operator.Connection
        @OptionGroup var filters: Filters
        @Flag(name: .shortAndLong, help: "Follow: poll for new entries until interrupted.") var follow = false
        @Option(name: .shortAndLong, help: "How many of the newest entries to show first.") var lines = 20
        @Option(name: .long, help: "Seconds between polls with -f.") var interval = 1.0

        func run() async throws {
            let client = try connection.client()
            // Find the newest sequence, then show the last `lines` entries from there.
            var after: Int64 = 0
            var newest: [[String: Any]] = []
            while true {
                let page = try await AuditCommand.entries(
                    client, filters.query + [URLQueryItem(name: "after", value: String(after)), URLQueryItem(name: "limit", value: "10000")]
                )
                newest = Array((newest + page).suffix(lines))
                guard let last = page.last.flatMap({ ($0["sequence"] as? String).flatMap(Int64.init) }) else { break }
                after = last
                if page.count < 10_000 { break }
            }
            for entry in newest { print(AuditCommand.line(entry)) }
            guard follow else { return }
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
                let page = try await AuditCommand.entries(
                    client, filters.query + [URLQueryItem(name: "after", value: String(after)), URLQueryItem(name: "limit", value: "10000")]
                )
                for entry in page { print(AuditCommand.line(entry)) }
                if let last = page.last.flatMap({ ($0["sequence"] as? String).flatMap(Int64.init) }) { after = last }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                """
                Recompute the chain and the checkpoint signatures; name the first entry altered, removed, reordered or inserted, \
                or a truncated tail. Exit 0 intact, 2 not.
                """,
            discussion:
                "Without --file or --archive it asks the running service (which compares with its witness file and reads its archive "
                + "folder). With --file and/or --archive it verifies offline, needing only --public-key (and --witness to catch a cut "
                + "tail): the archive's segment files, then the export continuing from the last of them."
        )
        @OptionGroup var connection: Operator.Connection
        @Option(name: .long, help: "An export from `coffer audit export` to verify offline.") var file: String?
        @Option(name: .long, help: "The trail's public key (hex, from `coffer audit public-key`), for --file.") var publicKey: String?
        @Option(name: .long, help: "The witness file of checkpoints, for --file or --archive.") var witness: String?
        @Option(name: .long, help: "A folder of archived segment files (audit_archive_dir) to verify offline.") var archive: String?

        func run() async throws {
            if file != nil || archive != nil {
                guard let publicKey, let key = Hex.decode(publicKey), key.count == Ed25519SigningKey.publicKeyBytes else {
                    throw ValidationError("--file and --archive need --public-key: the 64 hex digits `coffer audit public-key` prints")
                }
                let witnessed = try witness.map { try AuditWitnessFile.all(in: $0) } ?? []
                // The archive's files vouch for themselves (their seals); the export continues from the last one.
                let folder = archive.map(AuditArchive.init(directory:))
                let archived = try AuditArchive.verify(
                    try folder?.segmentsOnDisk() ?? [], files: folder, publicKey: key, witnessed: witnessed)
                var report = archived.report
                if report.finding.isIntact, let file {
                    guard let data = FileManager.default.contents(atPath: file) else { throw ClientError("cannot read \(file)") }
                    let records = try String(decoding: data, as: UTF8.self).split(separator: "\n").filter { !$0.isEmpty }.map {
                        try AuditTrail.Stored.parse(json: String($0))
                    }
                    // Offline: the chain and the witness (an export carries no tags, whose key stays in the service).
                    let live = try AuditChain.verify(records, checkpoints: [], witnessed: witnessed, publicKey: key, start: archived.end)
                    report.finding = live.finding
                    report.entries = live.entries
                    report.witnessRecords += live.witnessRecords
                }
                print(report)
                if witness == nil { print("no --witness given: a cut-off tail cannot be seen") }
                if !report.finding.isIntact { throw ExitCode(2) }
                return
            }
            let data = try Operator.json(try await connection.client().send("GET", "sys/audit-trail/verify"))["data"] as? [String: Any]
            let count = { (key: String) in (data?[key] as? Int).map(String.init) ?? "?" }
            print(
                """
                checked: \(count("entries")) entries (hashes), \(count("tags")) tags, \(count("checkpoints")) checkpoints, \
                \(count("witness_records")) witness records
                """
            )
            print("witness: \(data?["witness"] as? String ?? "?")")
            if let segments = data?["segments"] as? Int, segments > 0 {
                print(
                    "archive: \(segments) segments sealed, \(count("segment_files")) files read, "
                        + "\(count("archived_entries")) archived entries recomputed (\(data?["archive"] as? String ?? "no folder"))"
                )
                if let missing = data?["missing_segment_files"] as? [String], !missing.isEmpty {
                    print("not found in the archive folder: \(missing.joined(separator: ", ")) (their seals were checked)")
                }
            }
            print(data?["finding"] as? String ?? "no answer")
            if let first = data?["first_bad_sequence"] as? Int { print("first bad entry: \(first)") }
            if data?["intact"] as? Bool != true { throw ExitCode(2) }
        }
    }

    struct Hash: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hash a value (read from stdin or the terminal, hidden) as the trail records sensitive values, to look for it.")
        @OptionGroup var connection: Operator.Connection

        func run() async throws {
            var bytes = try SecretInput.readLine(prompt: "Value to hash (will be hidden): ")
            defer { Wipe.bytes(&bytes) }
            let reply = try await connection.client().sendJSON(
                "POST", "sys/audit-trail/hash", ["input": String(decoding: bytes, as: UTF8.self)])
            print((try Operator.json(reply)["data"] as? [String: Any])?["hash"] as? String ?? "")
        }
    }

    struct PublicKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The Ed25519 public key that verifies the trail's checkpoints (hex).")
        @OptionGroup var connection: Operator.Connection

        func run() async throws {
            print(
                (try Operator.json(try await connection.client().send("GET", "sys/audit-trail/public-key"))["data"] as? [String: Any])?[
                    "public_key"] as? String ?? "")
        }
    }
}
