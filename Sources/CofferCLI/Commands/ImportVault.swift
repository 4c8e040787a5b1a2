import ArgumentParser
import Foundation

extension KVCommand {
    /// `coffer kv import-vault`: every KV version 2 secret of a Vault or OpenBao mount (or a subtree of it), with all
    /// its versions in order (deleted ones deleted, destroyed ones destroyed), custom metadata and settings, into
    /// the running Coffer. Idempotent and resumable: a secret the target already holds identically is left alone;
    /// one the target holds the first versions of (an import that was cut short) is continued from there; one
    /// whose versions differ is a conflict, reported and not touched.
    struct ImportVault: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-vault",
            abstract: "Copy every KV v2 secret, with its versions and metadata, from a Vault or OpenBao server.",
            discussion: """
                The source token comes from VAULT_TOKEN or --token-file, never from an argument (which ps shows). \
                Coffer's address and token are COFFER_ADDR and COFFER_TOKEN, as for every command. \
                Vault does not return a soft-deleted version's data: such versions are imported deleted and empty, \
                unless --read-deleted undeletes each at the source, reads it and deletes it again (which moves its \
                deletion_time there to now).
                """)
        @Option(name: .long, help: "The source server, e.g. https://vault.internal:8200.") var address: String
        @Option(name: .long, help: "A file holding the source token (default: VAULT_TOKEN).") var tokenFile: String?
        @Option(name: .long, help: "The source KV v2 mount.") var mount = "secret"
        @Option(name: .long, help: "Only this subtree of the mount, e.g. app/.") var path = ""
        @Option(name: .long, help: "The mount in Coffer (default: the same name).") var toMount: String?
        @Option(name: .long, help: "Coffer's address (default COFFER_ADDR).") var cofferAddress: String?
        @Flag(name: .long, help: "Undelete each soft-deleted version at the source to read it, then delete it again.")
        var readDeleted = false
        @Option(name: .long, help: "Secrets copied at once.") var parallel = 8

        func validate() throws {
            guard (1...64).contains(parallel) else { throw ValidationError("--parallel takes 1 to 64") }
        }

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let token: String
            if let tokenFile {
                guard let data = FileManager.default.contents(atPath: tokenFile) else { throw ClientError("cannot read \(tokenFile)") }
                token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                token = environment["VAULT_TOKEN"] ?? ""
            }
            guard !token.isEmpty else { throw ClientError("no source token: set VAULT_TOKEN or give --token-file") }
            let copier = VaultCopier(
                source: try CofferClient(vaultAddress: address, token: token), target: try CofferClient(address: cofferAddress),
                mount: mount, toMount: toMount ?? mount, readDeleted: readDeleted)
            let subtree = path.isEmpty || path.hasSuffix("/") ? path : path + "/"
            let secrets = try await copier.list(subtree)
            FileHandle.standardError.write(Data("Found \(secrets.count) secrets under \(mount)/\(subtree)\n".utf8))
            let progress = ImportProgress(total: secrets.count)
            let outcomes = try await withThrowingTaskGroup(of: (String, VaultCopier.Outcome).self) { group in
                var pending = secrets.makeIterator()
                var outcomes: [(String, VaultCopier.Outcome)] = []
                for _ in 0..<parallel {
                    guard let secret = pending.next() else { break }
                    group.addTask { (secret, await copier.copy(secret)) }
                }
                while let finished = try await group.next() {
                    outcomes.append(finished)
                    progress.record(finished.1)
                    if let secret = pending.next() { group.addTask { (secret, await copier.copy(secret)) } }
                }
                return outcomes
            }
            var counts: [String: Int] = [:]
            var versions = 0
            for (secret, outcome) in outcomes.sorted(by: { $0.0 < $1.0 }) {
                counts[outcome.label, default: 0] += 1
                switch outcome {
                case .copied(let written, _): versions += written
                case .conflict(let reason), .failed(let reason): print("\(outcome.label): \(mount)/\(secret): \(reason)")
                case .unchanged: break
                }
            }
            print(
                "Imported \(counts["copied", default: 0]) secrets (\(versions) versions) into \(toMount ?? mount)/; "
                    + "\(counts["unchanged", default: 0]) unchanged, \(counts["conflict", default: 0]) conflicts, "
                    + "\(counts["failed", default: 0]) failed.")
            if counts["conflict", default: 0] + counts["failed", default: 0] > 0 { throw ExitCode(1) }
        }
    }
}

/// Prints a line to standard error every 100 secrets and at the end (a long import shows it is moving).
final class ImportProgress: @unchecked Sendable {
    // @unchecked Sendable: only the task group's own loop calls record, one at a time.
    let total: Int
    private var done = 0
    private var versions = 0
    private let started = Date()

    init(total: Int) { self.total = total }

    func record(_ outcome: VaultCopier.Outcome) {
        done += 1
        if case .copied(let written, _) = outcome { versions += written }
        guard done % 100 == 0 || done == total else { return }
        let rate = Double(done) / max(0.001, Date().timeIntervalSince(started))
        FileHandle.standardError.write(
            Data(String(format: "%d/%d secrets, %d versions written, %.0f secrets/s\n", done, total, versions, rate).utf8))
    }
}

/// Copies KV v2 secrets from a Vault-API server into Coffer, one secret at a time (see ``KVCommand/ImportVault``).
struct VaultCopier: Sendable {
    enum Outcome: Sendable {
        /// Versions written (the rest were there already) and whether the metadata was written.
        case copied(versions: Int, metadata: Bool)
        case unchanged
        case conflict(String)
        case failed(String)

        var label: String {
            switch self {
            case .copied(let versions, let metadata): versions == 0 && !metadata ? "unchanged" : "copied"
            case .unchanged: "unchanged"
            case .conflict: "conflict"
            case .failed: "failed"
            }
        }
    }

    /// A version as the source's metadata describes it.
    enum State: Equatable { case live, deleted, destroyed }

    let source: CofferClient
    let target: CofferClient
    let mount: String
    let toMount: String
    let readDeleted: Bool

    /// Every secret path under `prefix` (folders followed), sorted.
    func list(_ prefix: String) async throws -> [String] {
        let reply = try await source.send("LIST", "\(mount)/metadata/\(prefix)")
        if reply.status == 404 { return [] }
        let keys = (try Operator.json(reply)["data"] as? [String: Any])?["keys"] as? [String] ?? []
        var found: [String] = []
        for key in keys.sorted() {
            if key.hasSuffix("/") {
                found += try await list(prefix + key)
            } else {
                found.append(prefix + key)
            }
        }
        return found
    }

    /// What the attempts at one secret sent to the target: a later attempt finds those writes in place (even one
    /// whose answer was lost) and would otherwise report a secret this run copied as unchanged.
    struct Sent {
        var versions: Set<Int> = []
        var metadata = false
    }

    /// Copies one secret; a transient failure (a 503 or 429, a lost connection) is retried from the start, up
    /// to 6 attempts over about 6 s: the copy is idempotent, so what the failed attempt wrote (even a write whose
    /// answer was lost) is recognised and the next attempt continues after it.
    func copy(_ path: String) async -> Outcome {
        var delay = Duration.milliseconds(200)
        var sent = Sent()
        for attempt in 1...6 {
            do {
                return try await copyOrThrow(path, sent: &sent)
            } catch let error as ClientError where error.transient && attempt < 6 {
                try? await Task.sleep(for: delay)
                delay *= 2
            } catch {
                return .failed("\(error)")
            }
        }
        return .failed("gave up after 6 attempts")
    }

    private func copyOrThrow(_ path: String, sent: inout Sent) async throws -> Outcome {
        let sourceMetadata = Self.data(try Operator.json(try await source.send("GET", "\(mount)/metadata/\(path)")))
        let current = sourceMetadata["current_version"] as? Int ?? 0
        let described = sourceMetadata["versions"] as? [String: [String: Any]] ?? [:]
        let now = Date()
        func state(_ version: Int) -> State {
            guard let entry = described[String(version)], entry["destroyed"] as? Bool != true else { return .destroyed }
            let deletion = entry["deletion_time"] as? String ?? ""
            if let at = Self.time(deletion), at <= now { return .deleted }
            return .live
        }
        let metadataReply = try await target.send("GET", "\(toMount)/metadata/\(path)")
        let targetMetadata = metadataReply.status == 404 ? [:] : Self.data(try Operator.json(metadataReply))
        let have = targetMetadata["current_version"] as? Int ?? 0
        guard have <= current else {
            return .conflict("the target has \(have) versions, the source \(current): nothing written")
        }
        let targetVersions = targetMetadata["versions"] as? [String: [String: Any]] ?? [:]
        // What the target holds must be the source's first versions, or this is someone else's secret.
        if have > 0 {
            let kept = targetMetadata["max_versions"] as? Int ?? 0
            for version in 1...have {
                let theirs = targetVersions[String(version)]
                // Trimmed by max_versions in Coffer, which trims when the setting is written; Vault keeps such
                // versions until the next write, so the source may still list them.
                if theirs == nil, kept > 0, version <= have - kept { continue }
                let targetState: State =
                    theirs == nil || theirs?["destroyed"] as? Bool == true
                    ? .destroyed : ((theirs?["deletion_time"] as? String).flatMap(Self.time).map { $0 <= now } == true ? .deleted : .live)
                // The last version an interrupted attempt wrote may still lack its delete or destroy: finish it.
                if version == have, targetState == .live, state(version) != .live {
                    try await finish(state(version), version: version, path: path)
                    continue
                }
                guard targetState == state(version) else {
                    return .conflict("version \(version) is \(targetState) in Coffer but \(state(version)) at the source: nothing written")
                }
                if targetState == .live {
                    let (sourceData, targetData) = (
                        try await read(source, mount, path, version), try await read(target, toMount, path, version)
                    )
                    guard NSDictionary(dictionary: sourceData).isEqual(to: targetData) else {
                        return .conflict("version \(version) holds other data in Coffer: nothing written")
                    }
                }
            }
        }
        if have < current {
            for version in (have + 1)...current {
                let versionState = state(version)
                var data: [String: Any] = [:]
                if versionState == .live {
                    data = try await read(source, mount, path, version)
                } else if versionState == .deleted, readDeleted {
                    _ = try Operator.json(
                        try await source.sendJSON("POST", "\(mount)/undelete/\(path)", ["versions": [version]]), expect: 204)
                    data = try await read(source, mount, path, version)
                    _ = try Operator.json(
                        try await source.sendJSON("POST", "\(mount)/delete/\(path)", ["versions": [version]]), expect: 204)
                }
                sent.versions.insert(version)
                let reply = try Operator.json(
                    try await target.sendJSON("POST", "\(toMount)/data/\(path)", ["options": ["cas": version - 1], "data": data]))
                guard Self.data(reply)["version"] as? Int == version else {
                    return .conflict("Coffer numbered version \(version) differently (\(Self.data(reply)["version"] ?? "none"))")
                }
                try await finish(versionState, version: version, path: path)
            }
        }
        // The settings last: max_versions may trim what the versions above wrote, and cas_required would make
        // them need cas (they have it anyway).
        var settings: [String: Any] = [
            "max_versions": sourceMetadata["max_versions"] as? Int ?? 0, "cas_required": sourceMetadata["cas_required"] as? Bool ?? false,
            "delete_version_after": sourceMetadata["delete_version_after"] as? String ?? "0s"
        ]
        settings["custom_metadata"] = sourceMetadata["custom_metadata"] as? [String: String] ?? [:]
        let same =
            targetMetadata["max_versions"] as? Int == settings["max_versions"] as? Int
            && targetMetadata["cas_required"] as? Bool == settings["cas_required"] as? Bool
            && Self.seconds(targetMetadata["delete_version_after"] as? String) == Self.seconds(settings["delete_version_after"] as? String)
            && NSDictionary(dictionary: targetMetadata["custom_metadata"] as? [String: String] ?? [:]).isEqual(
                to: settings["custom_metadata"] as? [String: String] ?? [:])
        if !same {
            sent.metadata = true
            _ = try Operator.json(try await target.sendJSON("POST", "\(toMount)/metadata/\(path)", settings), expect: 204)
        }
        // Counted over every attempt: what an earlier attempt sent, this one found in place.
        return sent.versions.isEmpty && !sent.metadata ? .unchanged : .copied(versions: sent.versions.count, metadata: sent.metadata)
    }

    /// Deletes or destroys a written version in Coffer as the source has it.
    private func finish(_ state: State, version: Int, path: String) async throws {
        switch state {
        case .live: break
        case .deleted:
            _ = try Operator.json(try await target.sendJSON("POST", "\(toMount)/delete/\(path)", ["versions": [version]]), expect: 204)
        case .destroyed:
            _ = try Operator.json(try await target.sendJSON("PUT", "\(toMount)/destroy/\(path)", ["versions": [version]]), expect: 204)
        }
    }

    private func read(_ client: CofferClient, _ mount: String, _ path: String, _ version: Int) async throws -> [String: Any] {
        let reply = try await client.send("GET", "\(mount)/data/\(path)", query: [URLQueryItem(name: "version", value: String(version))])
        return Self.data(try Operator.json(reply))["data"] as? [String: Any] ?? [:]
    }

    static func data(_ answer: [String: Any]) -> [String: Any] { answer["data"] as? [String: Any] ?? [:] }

    /// An RFC 3339 time as Vault writes it (with or without fractional seconds); nil for "".
    static func time(_ text: String) -> Date? {
        guard !text.isEmpty else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }

    /// Seconds of a Go duration as Vault prints them ("0s", "1h0m0s", "90s"); nil when unreadable.
    static func seconds(_ text: String?) -> Int? {
        guard let text, !text.isEmpty else { return 0 }
        var total = 0.0, number = ""
        for character in text {
            if character.isNumber || character == "." {
                number.append(character)
                continue
            }
            guard let value = Double(number) else { return nil }
            switch character {
            case "h": total += value * 3600
            case "m": total += value * 60
            case "s": total += value
            default: return nil
            }
            number = ""
        }
        return number.isEmpty ? Int(total) : Int(number)
    }
}
