import ArgumentParser
import Foundation

/// `coffer features …`: the feature cache on the running service (Docs/SUITE.md).
struct FeaturesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Define feature sets; write, read, and prune feature values.",
        subcommands: [Define.self, Put.self, Get.self, History.self, Stats.self, Prune.self]
    )

    struct Define: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create or change a feature set.")
        @OptionGroup var connection: Operator.Connection
        @Argument var set: String
        @Option(name: .long, help: "number or json.") var type = "number"
        @Option(name: .long, help: "Values older than this (from their event time) read as expired, e.g. 1h; 0 never.") var ttl = "0"
        @Option(name: .long, help: "Values older than this are pruned, e.g. 30d as 720h; 0 keeps them.") var retention = "0"
        @Option(name: .long, help: "Declared features, comma-separated (default: any).") var features: String?

        func run() async throws {
            var body: [String: Any] = ["value_type": type, "ttl": ttl, "retention": retention]
            if let features { body["features"] = features }
            _ = try Operator.json(
                try await connection.client().sendJSON("PUT", "coffer/features/sets/\(ModelCommand.segment(set))", body), expect: 204)
            print("Feature set \(set) defined")
        }
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write values: ENTITY FEATURE=VALUE…, or --file with JSON rows.")
        @OptionGroup var connection: Operator.Connection
        @Argument var set: String
        @Argument(help: "The entity, e.g. BTC.") var entity: String?
        @Argument(help: "FEATURE=VALUE pairs; VALUE is JSON (a number, null, an object).") var values: [String] = []
        @Option(name: .long, help: "Event time (RFC 3339 or Unix seconds; default now).") var eventTime: String?
        @Option(name: .long, help: "A JSON file: [{\"entity\", \"feature\", \"value\", \"event_time\"}, …].") var file: String?

        func run() async throws {
            var rows: [[String: Any]] = []
            if let file {
                guard let data = FileManager.default.contents(atPath: file),
                    let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
                else {
                    throw ClientError("\(file) must hold a JSON array of rows")
                }
                rows = list
            }
            if let entity {
                for pair in values {
                    let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    guard parts.count == 2,
                        let value = try? JSONSerialization.jsonObject(with: Data(parts[1].utf8), options: .fragmentsAllowed)
                    else {
                        throw ValidationError("values take FEATURE=JSON, such as price=101.5 or trend='{\"dir\":\"up\"}', not \(pair)")
                    }
                    var row: [String: Any] = ["entity": entity, "feature": parts[0], "value": value]
                    if let eventTime { row["event_time"] = eventTime }
                    rows.append(row)
                }
            }
            guard !rows.isEmpty else { throw ValidationError("give ENTITY FEATURE=VALUE… or --file") }
            let answer = try Operator.json(
                try await connection.client().sendJSON("POST", "coffer/features/values/\(ModelCommand.segment(set))", ["rows": rows]))
            print("Wrote \((answer["data"] as? [String: Any])?["written"] ?? 0) values")
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The latest values (or as of a time) for entities.")
        @OptionGroup var connection: Operator.Connection
        @Argument var set: String
        @Argument(help: "Entities.") var entities: [String]
        @Option(name: .long, help: "Features, comma-separated (default: the set's).") var features: String?
        @Option(name: .long, help: "Only values true and written by this time (RFC 3339 or Unix seconds).") var asOf: String?
        @Flag(name: .long, help: "Print the JSON answer.") var json = false

        func run() async throws {
            var body: [String: Any] = ["entities": entities]
            if let features { body["features"] = features }
            if let asOf { body["as_of"] = asOf }
            let reply = try await connection.client().sendJSON("POST", "coffer/features/read/\(ModelCommand.segment(set))", body)
            let answer = try Operator.json(reply)
            if json {
                print(String(decoding: reply.body, as: UTF8.self))
                return
            }
            let found = (answer["data"] as? [String: Any])?["entities"] as? [String: [String: [String: Any]]] ?? [:]
            var rows: [[String]] = []
            for entity in found.keys.sorted() {
                for (feature, reading) in (found[entity] ?? [:]).sorted(by: { $0.key < $1.key }) {
                    rows.append([
                        entity, feature, "\(reading["status"] ?? "")", FeaturesCommand.text(reading["value"]),
                        "\(reading["event_time"] as? String ?? "")"
                    ])
                }
            }
            RotateCommand.printColumns(["entity", "feature", "status", "value", "event time"], rows)
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An entity's feature over a time range.")
        @OptionGroup var connection: Operator.Connection
        @Argument var set: String
        @Argument var entity: String
        @Argument var feature: String
        @Option(name: .long, help: "Start (RFC 3339 or Unix seconds; default a day ago).") var from: String?
        @Option(name: .long, help: "End (default now).") var to: String?

        func run() async throws {
            var query: [URLQueryItem] = []
            if let from { query.append(URLQueryItem(name: "from", value: from)) }
            if let to { query.append(URLQueryItem(name: "to", value: to)) }
            let path =
                "coffer/features/history/\(ModelCommand.segment(set))/\(ModelCommand.segment(entity))/\(ModelCommand.segment(feature))"
            let points =
                (try Operator.json(try await connection.client().send("GET", path, query: query))["data"] as? [String: Any])?["points"]
                as? [[String: Any]] ?? []
            RotateCommand.printColumns(
                ["event time", "value", "written"],
                points.map { ["\($0["event_time"] ?? "")", FeaturesCommand.text($0["value"]), "\($0["write_time"] ?? "")"] })
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per feature: count, nulls, min, max, mean, last update; hits and misses.")
        @OptionGroup var connection: Operator.Connection
        @Argument var set: String

        func run() async throws {
            let data =
                (try Operator.json(try await connection.client().send("GET", "coffer/features/stats/\(ModelCommand.segment(set))"))["data"]
                    as? [String: Any]) ?? [:]
            RotateCommand.printColumns(
                ["feature", "count", "nulls", "min", "max", "mean", "last update"],
                ((data["features"] as? [[String: Any]]) ?? []).map { row in
                    [
                        "\(row["feature"] ?? "")", "\(row["count"] ?? 0)", "\(row["nulls"] ?? 0)", FeaturesCommand.text(row["min"]),
                        FeaturesCommand.text(row["max"]),
                        FeaturesCommand.text(row["mean"]), "\(row["last_update"] as? String ?? "")"
                    ]
                })
            print("reads: \(data["hits"] ?? 0) present, \(data["misses"] ?? 0) missing, \(data["expired"] ?? 0) expired")
        }
    }

    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove values older than --older-than (or each set's retention).")
        @OptionGroup var connection: Operator.Connection
        @Option(name: .long, help: "Only this feature set.") var set: String?
        @Option(name: .long, help: "An age such as 720h (default: each set's retention).") var olderThan: String?

        func run() async throws {
            var body: [String: Any] = [:]
            if let set { body["set"] = set }
            if let olderThan { body["older_than"] = olderThan }
            let answer = try Operator.json(try await connection.client().sendJSON("POST", "coffer/features/prune", body))
            print("Removed \((answer["data"] as? [String: Any])?["removed"] ?? 0) values")
        }
    }

    static func text(_ value: Any?) -> String {
        guard let value, !(value is NSNull) else { return "null" }
        if let string = value as? String { return string }
        if let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys]) {
            return String(decoding: data, as: UTF8.self)
        }
        return "\(value)"
    }
}
