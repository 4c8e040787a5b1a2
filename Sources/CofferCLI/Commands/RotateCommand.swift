import ArgumentParser
import CofferFoundation
import Foundation

/// `coffer rotate`: run the rotations that are due (or one now) on the running service, and
/// `coffer rotate status`. What `make rotate` and `make rotate-status` call. The token comes from
/// COFFER_TOKEN or a token file, never from an argument.
struct RotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Rotate every credential that is due (or --secret now); exits non-zero if any failed.",
        subcommands: [Run.self, Status.self],
        defaultSubcommand: Run.self
    )

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run", abstract: "Rotate what is due, or --secret now.")
        @OptionGroup var connection: Operator.Connection
        @Option(name: .long, help: "Rotate this credential now, due or not: mount/path, e.g. secret/app/api.") var secret: String?
        @Flag(name: .long, help: "Show what is due; change nothing.") var dryRun = false
        @Option(name: .long, help: "Names the runs: the same key again never rotates twice, and resumes an unfinished run.")
        var idempotencyKey: String?
        @Flag(name: .long, help: "Print the JSON answer.") var json = false

        func run() async throws {
            var body: [String: Any] = ["dry_run": dryRun]
            if let idempotencyKey { body["idempotency_key"] = idempotencyKey }
            // The client percent-encodes the path once; encoding it here too sent `%2520` for a space.
            let path = secret.map { "coffer/rotation/rotate/" + $0 } ?? "coffer/rotation/run"
            let reply = try await connection.client().sendJSON("POST", path, body)
            let answer = try Operator.json(reply)
            if json { print(String(decoding: reply.body, as: UTF8.self)) }
            let results = (answer["data"] as? [String: Any])?["results"] as? [[String: Any]] ?? []
            if !json {
                if results.isEmpty {
                    print(dryRun ? "Nothing is due." : "Nothing was due; nothing rotated.")
                } else {
                    RotateCommand.printColumns(
                        ["path", "rotator", "versions", "step", "result", "duration", "error"],
                        results.map { row in
                            let old = row["old_version"] as? Int ?? 0
                            let new = (row["new_version"] as? Int).map(String.init) ?? "-"
                            return [
                                "\(row["path"] ?? "")", "\(row["rotator"] ?? "")", "\(old) → \(new)", "\(row["step"] ?? "")",
                                "\(row["result"] ?? "")",
                                String(format: "%.0f ms", row["duration_ms"] as? Double ?? 0), row["error"] as? String ?? ""
                            ]
                        })
                }
            }
            let failed = results.filter { ["failed", "locked", "denied"].contains($0["result"] as? String ?? "") }
            if !failed.isEmpty { throw ExitCode(1) }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Schedules, last and next runs, failures and unfinished runs.")
        @OptionGroup var connection: Operator.Connection
        @Flag(name: .long, help: "Print the JSON answer.") var json = false

        func run() async throws {
            let reply = try await connection.client().send("GET", "coffer/rotation/status")
            let answer = try Operator.json(reply)
            if json {
                print(String(decoding: reply.body, as: UTF8.self))
                return
            }
            let rows = (answer["data"] as? [String: Any])?["credentials"] as? [[String: Any]] ?? []
            guard !rows.isEmpty else {
                print("No credential has a rotator (set rotation_kind and rotation_interval in its metadata).")
                return
            }
            RotateCommand.printColumns(
                ["path", "rotator", "interval", "last rotated", "next due", "due", "failures", "last error", "unfinished"],
                rows.map { row in
                    [
                        "\(row["path"] ?? "")", "\(row["rotator"] ?? "")", "\(row["rotation_interval"] ?? "")",
                        "\(row["last_rotated_time"] ?? "")",
                        "\(row["next_rotation_time"] ?? "")", (row["due"] as? Bool ?? false) ? "yes" : "no", "\(row["failures"] ?? 0)",
                        "\(row["last_error"] ?? "")", "\(row["unfinished_step"] ?? "")"
                    ]
                })
        }
    }

    static func printColumns(_ header: [String], _ rows: [[String]]) {
        let widths = header.indices.map { column in ([header[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ").trimmingCharacters(
                in: .whitespaces)
        }
        print(line(header))
        print(line(widths.map { String(repeating: "-", count: $0) }))
        for row in rows { print(line(row)) }
    }
}
