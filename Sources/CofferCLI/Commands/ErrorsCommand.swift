import ArgumentParser
import CofferErrorLog
import CofferFoundation
import Foundation

/// `coffer errors …`: error logs on the running service (Docs/SUITE.md, "Error logs").
struct ErrorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "errors",
        abstract: "Log error events; list, show, resolve, ignore and reopen issues; trends; import log files.",
        subcommands: [Log.self, List.self, Show.self, Resolve.self, Ignore.self, Reopen.self, Stats.self, Import.self]
    )

    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Log one error event.")
        @OptionGroup var connection: Operator.Connection
        @Argument(help: "The message.") var message: String
        @Option(name: .long) var component: String
        @Option(name: .long, help: "debug, info, warning, error or critical.") var severity = "error"
        @Option(name: .long) var type: String?
        @Option(name: .long, help: "A file holding the stack trace.") var stackFile: String?
        @Option(name: .long) var release: String?
        @Option(name: .long) var host: String?
        @Option(name: .long, help: "Group under this fingerprint instead of type and frames (repeatable).") var fingerprint: [String] = []

        func run() async throws {
            var event: [String: Any] = ["component": component, "severity": severity, "message": message]
            event["error_type"] = type
            event["release"] = release
            event["host"] = host ?? ProcessInfo.processInfo.hostName
            if let stackFile {
                guard let data = FileManager.default.contents(atPath: stackFile) else { throw ClientError("cannot read \(stackFile)") }
                event["stack_trace"] = String(decoding: data, as: UTF8.self)
            }
            if !fingerprint.isEmpty { event["fingerprint"] = fingerprint }
            let answer = try Operator.json(try await connection.client().sendJSON("POST", "coffer/errors/events", ["events": [event]]))
            let logged = ((answer["data"] as? [String: Any])?["events"] as? [[String: Any]])?.first ?? [:]
            let marks = [("new_issue", " (new)"), ("regressed", " (regressed)")].map { key, mark in
                logged[key] as? Bool ?? false ? mark : ""
            }
            print("Logged as issue \(logged["issue_id"] ?? "?")" + marks.joined())
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Issues, most recently seen first.")
        @OptionGroup var connection: Operator.Connection
        @Option(name: .long, help: "unresolved, resolved or ignored.") var status: String?
        @Option(name: .long) var component: String?
        @Option(name: .long) var limit = 50

        func run() async throws {
            var query = [URLQueryItem(name: "limit", value: String(limit))]
            if let status { query.append(URLQueryItem(name: "status", value: status)) }
            if let component { query.append(URLQueryItem(name: "component", value: component)) }
            let issues =
                (try Operator.json(try await connection.client().send("GET", "coffer/errors/issues", query: query))["data"]
                as? [String: Any])?["issues"] as? [[String: Any]] ?? []
            guard !issues.isEmpty else {
                print("No issues.")
                return
            }
            RotateCommand.printColumns(
                ["id", "status", "severity", "component", "type", "count", "last seen", "title"],
                issues.map { issue in
                    let status = "\(issue["status"] ?? "")" + ((issue["regressed"] as? Bool ?? false) ? " (regressed)" : "")
                    return [
                        "\(issue["id"] ?? "")", status, "\(issue["severity"] ?? "")", "\(issue["component"] ?? "")",
                        "\(issue["error_type"] ?? "")",
                        "\(issue["count"] ?? 0)", "\(issue["last_seen"] ?? "")", String("\(issue["title"] ?? "")".prefix(60))
                    ]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An issue, its history and latest events.")
        @OptionGroup var connection: Operator.Connection
        @Argument var id: Int

        func run() async throws {
            let data = try Operator.json(try await connection.client().send("GET", "coffer/errors/issues/\(id)"))["data"] ?? [:]
            print(String(decoding: try JSONSerialization.data(withJSONObject: data, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resolve an issue (optionally in a release: older releases' events do not reopen it).")
        @OptionGroup var connection: Operator.Connection
        @Argument var id: Int
        @Option(name: .long) var inRelease: String?
        @Option(name: .long) var note: String?

        func run() async throws {
            var body: [String: Any] = [:]
            body["in_release"] = inRelease
            body["note"] = note
            _ = try Operator.json(try await connection.client().sendJSON("POST", "coffer/errors/issues/\(id)/resolve", body))
            print("Issue \(id) resolved\(inRelease.map { " in \($0)" } ?? "")")
        }
    }

    struct Ignore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ignore an issue until a time, or until N more events.")
        @OptionGroup var connection: Operator.Connection
        @Argument var id: Int
        @Option(name: .long, help: "RFC 3339 time or Unix seconds.") var until: String?
        @Option(name: .long, help: "Events before it comes back.") var count: Int?
        @Option(name: .long) var note: String?

        func run() async throws {
            var body: [String: Any] = [:]
            body["until"] = until
            body["count"] = count
            body["note"] = note
            _ = try Operator.json(try await connection.client().sendJSON("POST", "coffer/errors/issues/\(id)/ignore", body))
            print("Issue \(id) ignored")
        }
    }

    struct Reopen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reopen a resolved or ignored issue.")
        @OptionGroup var connection: Operator.Connection
        @Argument var id: Int
        @Option(name: .long) var note: String?

        func run() async throws {
            _ = try Operator.json(try await connection.client().sendJSON("POST", "coffer/errors/issues/\(id)/reopen", ["note": note ?? ""]))
            print("Issue \(id) reopened")
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Events per hour (or day) per component and severity, and the top issues, over a window.")
        @OptionGroup var connection: Operator.Connection
        @Option(name: .long, help: "e.g. 24h, 168h.") var window = "24h"
        @Flag(name: .long, help: "Daily buckets.") var daily = false

        func run() async throws {
            let query = [URLQueryItem(name: "window", value: window), URLQueryItem(name: "bucket", value: daily ? "day" : "hour")]
            let reply = try await connection.client().send("GET", "coffer/errors/stats", query: query)
            let data = (try Operator.json(reply)["data"] as? [String: Any]) ?? [:]
            RotateCommand.printColumns(
                ["bucket", "component", "severity", "events"],
                ((data["trends"] as? [[String: Any]]) ?? []).map {
                    ["\($0["bucket"] ?? "")", "\($0["component"] ?? "")", "\($0["severity"] ?? "")", "\($0["count"] ?? 0)"]
                })
            print("")
            RotateCommand.printColumns(
                ["issue", "events", "status", "title"],
                ((data["top_issues"] as? [[String: Any]]) ?? []).map { top in
                    let issue = top["issue"] as? [String: Any] ?? [:]
                    return [
                        "\(issue["id"] ?? "")", "\(top["events_in_window"] ?? 0)", "\(issue["status"] ?? "")",
                        String("\(issue["title"] ?? "")".prefix(60))
                    ]
                })
        }
    }

    /// The seed's "log files → error_logs" migration; importing the same file again adds nothing.
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import a log file: Python tracebacks or JSON lines (idempotent).")
        @OptionGroup var connection: Operator.Connection
        @Argument var file: String
        @Option(name: .long, help: "python or jsonl (default: detected).") var format: String?
        @Option(name: .long, help: "Component for events that do not name one.") var component = "import"
        @Option(name: .long) var release: String?
        @Option(name: .long) var host: String?

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw ClientError("cannot read \(file)") }
            let text = String(decoding: data, as: UTF8.self)
            let chosen: LogImport.Format
            if let format {
                guard let parsed = LogImport.Format(rawValue: format) else { throw ValidationError("--format is python or jsonl") }
                chosen = parsed
            } else {
                chosen = LogImport.detect(text)
            }
            let events = try LogImport.events(
                text, format: chosen,
                defaults: .init(component: component, release: release, host: host ?? ProcessInfo.processInfo.hostName))
            let client = try connection.client()
            var added = 0, skipped = 0
            for start in stride(from: 0, to: events.count, by: 500) {
                let batch = events[start..<min(start + 500, events.count)].map(ErrorsCommand.json)
                let answer = try Operator.json(try await client.sendJSON("POST", "coffer/errors/events", ["events": batch]))
                for logged in (answer["data"] as? [String: Any])?["events"] as? [[String: Any]] ?? [] {
                    if logged["duplicate"] as? Bool == true { skipped += 1 } else { added += 1 }
                }
            }
            print("\(events.count) events read (\(chosen.rawValue)): \(added) added, \(skipped) already imported")
        }
    }

    static func json(_ event: ErrorEvent) -> [String: Any] {
        var object: [String: Any] = [
            "component": event.component, "severity": event.severity.rawValue, "message": event.message,
            "error_type": event.errorType, "stack_trace": event.stackTrace, "host": event.host
        ]
        object["release"] = event.release
        object["source_id"] = event.sourceID
        object["fingerprint"] = event.fingerprint
        if let occurred = event.occurredAt { object["time"] = occurred.timeIntervalSince1970 }
        if let data = try? JSONEncoder().encode(event.context), let context = try? JSONSerialization.jsonObject(with: data) {
            object["context"] = context
        }
        return object
    }
}
