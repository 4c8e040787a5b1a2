import ArgumentParser
import CofferCrypto
import Foundation

/// `coffer model …`: the model registry on the running service (Docs/SUITE.md). Artifacts stream from
/// and to files; the token comes from COFFER_TOKEN or a token file.
struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Register, find, promote, alias, retire and download model versions.",
        subcommands: [Register.self, List.self, Show.self, Promote.self, Alias.self, Retire.self, Download.self, Search.self, Import.self]
    )

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a new version of MODEL with FILE as its artifact.")
        @OptionGroup var connection: Operator.Connection
        @Argument(help: "The model's name.") var model: String
        @Argument(help: "The artifact file (streamed, never read whole).") var file: String
        @Option(name: .long, help: "Semantic version, e.g. 1.4.0 (must rise; default <version>.0.0).") var versionLabel: String?
        @Option(name: .long, help: "Model type, e.g. classifier.") var type: String?
        @Option(name: .long, help: "Algorithm, e.g. xgboost.") var algorithm: String?
        @Option(name: .long, help: "Parameters as a JSON object.") var params: String?
        @Option(name: .long, help: "Training metrics as a JSON object of numbers.") var trainingMetrics: String?
        @Option(name: .long, help: "Validation metrics as a JSON object of numbers.") var validationMetrics: String?
        @Option(name: .long, help: "A tag KEY=VALUE (repeatable).") var tag: [String] = []
        @Option(name: .long, help: "Lineage: the run, notebook or commit it came from.") var source: String?
        @Option(name: .long, help: "Lineage: the training data reference.") var trainingData: String?
        @Option(name: .long, help: "The model's description (when this creates it).") var description: String?
        @Flag(name: .long, help: "Print the JSON answer.") var json = false

        func run() async throws {
            var metadata: [String: Any] = [:]
            metadata["version_label"] = versionLabel
            metadata["model_type"] = type
            metadata["algorithm"] = algorithm
            metadata["source"] = source
            metadata["training_data"] = trainingData
            metadata["description"] = description
            metadata["parameters"] = try params.map { try ModelCommand.object($0, "--params") }
            metadata["training_metrics"] = try trainingMetrics.map { try ModelCommand.object($0, "--training-metrics") }
            metadata["validation_metrics"] = try validationMetrics.map { try ModelCommand.object($0, "--validation-metrics") }
            if !tag.isEmpty { metadata["tags"] = try ModelCommand.tags(tag) }
            let answer = try await ModelCommand.upload(connection.client(), model: model, file: file, metadata: metadata)
            if json {
                print(String(decoding: try JSONSerialization.data(withJSONObject: answer), as: UTF8.self))
                return
            }
            print(
                """
                Registered \(model) version \(answer["version"] ?? "?") (\(answer["version_label"] ?? "")), artifact \
                \(answer["artifact_digest"] ?? "")
                """
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List models, or MODEL's versions.")
        @OptionGroup var connection: Operator.Connection
        @Argument(help: "A model: list its versions.") var model: String?

        func run() async throws {
            let client = try connection.client()
            guard let model else {
                let reply = try await client.send("GET", "coffer/models", query: [URLQueryItem(name: "list", value: "true")])
                if reply.status == 404 {
                    print("No models.")
                    return
                }
                for name in (try Operator.json(reply)["data"] as? [String: Any])?["keys"] as? [String] ?? [] { print(name) }
                return
            }
            let reply = try await client.send(
                "GET", "coffer/models/\(ModelCommand.segment(model))/versions", query: [URLQueryItem(name: "list", value: "true")])
            let versions = (try Operator.json(reply)["data"] as? [String: Any])?["versions"] as? [[String: Any]] ?? []
            ModelCommand.printVersions(versions)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show MODEL, or one version (a number, an alias or latest).")
        @OptionGroup var connection: Operator.Connection
        @Argument(help: "The model.") var model: String
        @Argument(help: "A version number, alias or latest.") var version: String?

        func run() async throws {
            let path = "coffer/models/\(ModelCommand.segment(model))" + (version.map { "/versions/\(ModelCommand.segment($0))" } ?? "")
            let reply = try await connection.client().send("GET", path)
            let data = try Operator.json(reply)["data"] ?? [:]
            print(String(decoding: try JSONSerialization.data(withJSONObject: data, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
        }
    }

    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Move VERSION of MODEL forward: registered → staged → deployed.")
        @OptionGroup var connection: Operator.Connection
        @Argument var model: String
        @Argument var version: Int
        @Option(name: .long, help: "staged or deployed (default: the next stage).") var to: String?
        @Option(name: .long, help: "A note for the history.") var note: String?

        func run() async throws {
            let client = try connection.client()
            var target = to
            if target == nil {
                let current =
                    (try Operator.json(try await client.send("GET", "coffer/models/\(ModelCommand.segment(model))/versions/\(version)"))[
                        "data"] as? [String: Any])?["status"] as? String
                target = current == "registered" ? "staged" : "deployed"
            }
            let reply = try await client.sendJSON(
                "POST", "coffer/models/\(ModelCommand.segment(model))/versions/\(version)/status",
                ["status": target ?? "", "note": note ?? ""])
            _ = try Operator.json(reply)
            print("\(model) version \(version) is \(target ?? "")")
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Retire VERSION of MODEL (no alias may point at it).")
        @OptionGroup var connection: Operator.Connection
        @Argument var model: String
        @Argument var version: Int
        @Option(name: .long, help: "A note for the history.") var note: String?

        func run() async throws {
            let reply = try await connection.client().sendJSON(
                "POST", "coffer/models/\(ModelCommand.segment(model))/versions/\(version)/status",
                ["status": "retired", "note": note ?? ""])
            _ = try Operator.json(reply)
            print("\(model) version \(version) is retired")
        }
    }

    struct Alias: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Point ALIAS of MODEL at VERSION, or --delete it; with neither, show its history.")
        @OptionGroup var connection: Operator.Connection
        @Argument var model: String
        @Argument var alias: String
        @Argument var version: Int?
        @Flag(name: .long, help: "Remove the alias.") var delete = false

        func run() async throws {
            let client = try connection.client()
            let path = "coffer/models/\(ModelCommand.segment(model))/aliases/\(ModelCommand.segment(alias))"
            if delete {
                _ = try Operator.json(try await client.send("DELETE", path), expect: 204)
                print("Removed \(alias) from \(model)")
            } else if let version {
                _ = try Operator.json(try await client.sendJSON("PUT", path, ["version": version]), expect: 204)
                print("\(model)@\(alias) → version \(version)")
            } else {
                let history =
                    (try Operator.json(try await client.send("GET", "coffer/models/\(ModelCommand.segment(model))/history"))["data"]
                    as? [String: Any])?["aliases"] as? [[String: Any]] ?? []
                RotateCommand.printColumns(
                    ["alias", "version", "from", "until", "set by"],
                    history.filter { $0["alias"] as? String == alias }.map { row in
                        [
                            "\(row["alias"] ?? "")", "\(row["version"] ?? "")", "\(row["from"] ?? "")", (row["until"] as? String) ?? "now",
                            "\(row["set_by"] ?? "")"
                        ]
                    })
            }
        }
    }

    struct Download: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Download a version's artifact (checked against its digest).")
        @OptionGroup var connection: Operator.Connection
        @Argument var model: String
        @Argument(help: "A version number, alias or latest.") var version: String
        @Option(name: [.short, .long], help: "The file to write.") var output: String

        func run() async throws {
            guard FileManager.default.createFile(atPath: output + ".part", contents: nil),
                let file = FileHandle(forWritingAtPath: output + ".part")
            else {
                throw ClientError("cannot write \(output).part: check the folder")
            }
            let reply: CofferClient.Reply
            do {
                reply = try await connection.client().send(
                    "GET", "coffer/models/\(ModelCommand.segment(model))/versions/\(ModelCommand.segment(version))/artifact",
                    download: file)
                try file.close()
            } catch {
                try? FileManager.default.removeItem(atPath: output + ".part")
                throw error
            }
            guard reply.status == 200 else {
                try? FileManager.default.removeItem(atPath: output + ".part")
                _ = try Operator.json(reply)
                return
            }
            // Checked again here: what reached the disk is what was registered.
            let expected =
                (try Operator.json(
                    try await connection.client().send(
                        "GET", "coffer/models/\(ModelCommand.segment(model))/versions/\(ModelCommand.segment(version))"))["data"]
                as? [String: Any])?["artifact_digest"] as? String
            let digest = "sha256:" + (try ModelCommand.digest(of: output + ".part"))
            guard digest == expected else {
                try? FileManager.default.removeItem(atPath: output + ".part")
                throw ClientError("the download does not match the registered digest (\(expected ?? "?")): nothing was written; try again")
            }
            guard rename(output + ".part", output) == 0 else { throw ClientError("cannot move \(output).part to \(output)") }
            print("Wrote \(output) (\(digest))")
        }
    }

    struct Search: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Search versions by name, tag, status and metric thresholds.")
        @OptionGroup var connection: Operator.Connection
        @Option(name: .long) var name: String?
        @Option(name: .long, help: "registered, staged, deployed or retired.") var status: String?
        @Option(name: .long, help: "KEY=VALUE (repeatable; all must match).") var tag: [String] = []
        @Option(name: .long, help: "A threshold such as 'training.accuracy > 0.8' (repeatable).") var metric: [String] = []
        @Option(name: .long, help: "A metric to order by, e.g. 'validation.f1 desc'.") var orderBy: String?
        @Option(name: .long) var limit: Int?

        func run() async throws {
            var query: [URLQueryItem] = []
            if let name { query.append(URLQueryItem(name: "name", value: name)) }
            if let status { query.append(URLQueryItem(name: "status", value: status)) }
            if !tag.isEmpty { query.append(URLQueryItem(name: "tag", value: tag.joined(separator: ","))) }
            if !metric.isEmpty { query.append(URLQueryItem(name: "metric", value: metric.joined(separator: ","))) }
            if let orderBy { query.append(URLQueryItem(name: "order_by", value: orderBy)) }
            if let limit { query.append(URLQueryItem(name: "limit", value: String(limit))) }
            let reply = try await connection.client().send("GET", "coffer/models/_search", query: query)
            ModelCommand.printVersions((try Operator.json(reply)["data"] as? [String: Any])?["versions"] as? [[String: Any]] ?? [])
        }
    }

    /// The seed's file-based models into the registry: `DIR/<model>/<files>`, each file a version (in name
    /// order) with an optional `<file>.json` beside it holding its registration metadata. A file whose
    /// artifact the model already has is skipped, so running it again changes nothing.
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a folder of model files (DIR/<model>/<artifact>[.json]); idempotent.")
        @OptionGroup var connection: Operator.Connection
        @Argument(help: "The folder.") var folder: String

        func run() async throws {
            let manager = FileManager.default
            var isFolder: ObjCBool = false
            guard manager.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                throw ClientError("\(folder) is not a folder")
            }
            let client = try connection.client()
            var added = 0, skipped = 0
            for model in try manager.contentsOfDirectory(atPath: folder).sorted() {
                let modelFolder = "\(folder)/\(model)"
                guard manager.fileExists(atPath: modelFolder, isDirectory: &isFolder), isFolder.boolValue else { continue }
                for file in try manager.contentsOfDirectory(atPath: modelFolder).sorted()
                where !file.hasSuffix(".json") && !file.hasPrefix(".") {
                    var metadata: [String: Any] = [:]
                    if let data = manager.contents(atPath: "\(modelFolder)/\(file).json") {
                        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                            throw ClientError("\(modelFolder)/\(file).json is not a JSON object of registration metadata")
                        }
                        metadata = object
                    }
                    metadata["if_new_digest"] = true
                    if metadata["source"] == nil { metadata["source"] = "import:\(modelFolder)/\(file)" }
                    let answer = try await ModelCommand.upload(client, model: model, file: "\(modelFolder)/\(file)", metadata: metadata)
                    let created = answer["created"] as? Bool ?? true
                    if created { added += 1 } else { skipped += 1 }
                    print("\(created ? "added  " : "skipped") \(model) version \(answer["version"] ?? "?") ← \(file)")
                }
            }
            print("\(added) added, \(skipped) already registered")
        }
    }

    static func upload(_ client: CofferClient, model: String, file: String, metadata: [String: Any]) async throws -> [String: Any] {
        let header = try JSONSerialization.data(withJSONObject: metadata).base64EncodedString()
        let reply = try await client.send(
            "POST", "coffer/models/\(segment(model))/versions", contentType: "application/octet-stream",
            headers: [("X-Coffer-Model", header)], bodyFile: file)
        return try Operator.json(reply)["data"] as? [String: Any] ?? [:]
    }

    static func printVersions(_ versions: [[String: Any]]) {
        guard !versions.isEmpty else {
            print("No versions.")
            return
        }
        RotateCommand.printColumns(
            ["model", "version", "label", "status", "aliases", "training", "validation", "created"],
            versions.map { row in
                func metrics(_ key: String) -> String {
                    ((row[key] as? [String: Any]) ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                }
                return [
                    "\(row["name"] ?? "")", "\(row["version"] ?? "")", "\(row["version_label"] ?? "")", "\(row["status"] ?? "")",
                    ((row["aliases"] as? [String]) ?? []).joined(separator: ","), metrics("training_metrics"),
                    metrics("validation_metrics"),
                    "\(row["created_time"] ?? "")"
                ]
            })
    }

    static func object(_ text: String, _ flag: String) throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw ValidationError("\(flag) must be a JSON object, such as '{\"accuracy\": 0.91}'")
        }
        return object
    }

    static func tags(_ pairs: [String]) throws -> [String: String] {
        var tags: [String: String] = [:]
        for pair in pairs {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--tag takes KEY=VALUE, not \(pair)") }
            tags[parts[0]] = parts[1]
        }
        return tags
    }

    /// One URL path segment.
    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? text
    }

    /// SHA-256 of a file, read in chunks.
    static func digest(of path: String) throws -> String {
        guard let file = FileHandle(forReadingAtPath: path) else { throw ClientError("cannot read \(path)") }
        defer { try? file.close() }
        var hasher = SHA256()
        while let chunk = try file.read(upToCount: 256 * 1024), !chunk.isEmpty { chunk.withUnsafeBytes { hasher.update($0) } }
        return hasher.finalHex()
    }
}
