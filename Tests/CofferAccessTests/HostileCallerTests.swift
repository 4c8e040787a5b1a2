import CofferAccess
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The Gate against a caller with an ordinary token who tries every spelling of a denied path, races
/// single-use things, and writes configuration that would act on another system.
struct HostileCallerTests {
    static let policy = """
        path "secret/data/app/*" { capabilities = ["create", "read", "update"] }
        path "secret/data/app/prod-db" { capabilities = ["deny"] }
        path "secret/data/app/caf\u{E9}" { capabilities = ["deny"] }
        path "coffer/cache/entries/ns/*" { capabilities = ["read", "create", "update"] }
        path "coffer/cache/entries/ns/secret" { capabilities = ["deny"] }
        """

    /// Spellings of `secret/data/app/prod-db` (and one NFD spelling of the denied `café`) an attacker tries.
    static let attacks = [
        "/v1/secret/data/app/%70rod-db", "/v1/secret/data/app/prod-d%62", "/v1/secret/data/app/prod%2Ddb", "/v1/secret/%64ata/app/prod-db",
        "/v1/secret/data/app/%2570rod-db", "/v1/secret/data/app%2Fprod-db", "/v1/secret/data/app%2fprod-db", "/v1/secret/data/app//prod-db",
        "/v1/secret/data/app/./prod-db", "/v1/secret/data/app/x/../prod-db", "/v1/secret/data/app/x/%2E%2E/prod-db",
        "/v1/secret/data/app/prod-db/",
        "/v1/secret/data/app/prod-db%00", "/v1/secret/data/app/prod-db%0D%0AX-Injected:%201", "/v1/secret/data/app/prod%5Cdb",
        "/v1//secret/data/app/prod-db", "/v1/secret/data/app/PROD-DB", "/v1/secret/data/app/Prod-db", "/v1/secret/data/app/cafe%CC%81",
        "/v1/secret/data/app/caf%C3%A9", "/v1/secret/data/app/prod-db%3F", "/v1/secret/data/app/prod-db%23x"
    ]

    @Test(arguments: TestDatabase.backends)
    func deniedPathCannotBeReachedBySpellingItOtherwise(backend: TestBackend) async throws {
        guard backend == .sqlite || TestDatabase.runsPostgres else { return }
        try await withUnsealedServer(backend) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(try await client.call("/v1/sys/policies/acl/app", .put, token: root, ["policy": Self.policy]).0 == .noContent)
                for name in ["prod-db", "caf\u{E9}"] {
                    let (status, _) = try await client.call(
                        "/v1/secret/data/app/" + Self.percentEncoded(name), .post, token: root,
                        ["data": ["password": "the-real-one"]])
                    #expect(status == .ok)
                }
                #expect(try await client.call("/v1/coffer/cache/entries/ns/secret", .put, token: root, ["value": "cached-secret"]).0 == .ok)
                let attacker = try await client.createToken(parent: root, ["policies": ["app"]]).token

                for uri in Self.attacks {
                    let (read, readBody) = try await client.call(uri, .get, token: attacker)
                    #expect(read != .ok, "GET \(uri) answered \(readBody)")
                    #expect(read.code < 500, "GET \(uri)")
                    #expect(!"\(readBody)".contains("the-real-one"), "GET \(uri)")
                    let (write, _) = try await client.call(uri, .post, token: attacker, ["data": ["password": "overwritten"]])
                    #expect(write.code < 500, "POST \(uri)")
                }
                for uri in [
                    "/v1/coffer/cache/entries/ns/%73ecret", "/v1/coffer/cache/entries/ns/secre%74", "/v1/coffer/cache/entries/ns/%2573ecret"
                ] {
                    let (status, body) = try await client.call(uri, .get, token: attacker)
                    #expect(status == .forbidden || status == .badRequest, "GET \(uri)")
                    #expect(!"\(body)".contains("cached-secret"))
                }
                // Nothing reached the denied secrets: each still holds what root wrote, at version 1.
                for name in ["prod-db", "caf\u{E9}"] {
                    let (status, body) = try await client.answer(
                        KV.Read.self, "/v1/secret/data/app/" + Self.percentEncoded(name), .get, token: root)
                    #expect(status == .ok)
                    #expect(body.data?.data?["password"]?.string == "the-real-one")
                    #expect(body.data?.metadata.version == 1)
                }
            }
            // The trail names the canonical path: the encoded attempts on prod-db are recorded as prod-db, denied.
            let rows = try await server.database.query(
                "SELECT path, decision FROM audit_log WHERE kind = 'response' AND path = 'secret/data/app/prod-db'")
            let decisions = try rows.map { try $0.decode(String.self, at: 1) }
            #expect(decisions.filter { $0 == "deny" }.count >= 8)
            let encoded = try await server.database.query("SELECT path FROM audit_log WHERE path LIKE '%\\%%' ESCAPE '\\'")
            #expect(encoded.isEmpty, "no audit entry holds a percent-encoded path")
            #expect(try await server.verifyTrail().isIntact)
        }
    }

    /// One route family: a policy that allows the family but denies one object, how root makes that object,
    /// and the write an attacker would try on it.
    struct Family: Sendable, CustomStringConvertible {
        let name: String
        let allowed: String
        let denied: String
        let setup: [(String, HTTPRequest.Method, [String: any Sendable])]
        let write: (HTTPRequest.Method, [String: any Sendable])
        var description: String { name }
    }

    static let families: [Family] = [
        Family(
            name: "kv metadata", allowed: "secret/metadata/app/*", denied: "secret/metadata/app/payroll",
            setup: [("/v1/secret/data/app/payroll", .post, ["data": ["password": "the-real-one"]])],
            write: (.post, ["max_versions": 1, "custom_metadata": ["owner": "attacker"]])),
        Family(
            name: "policies", allowed: "sys/policies/acl/*", denied: "sys/policies/acl/payroll",
            setup: [("/v1/sys/policies/acl/payroll", .put, ["policy": #"path "secret/data/payroll" { capabilities = ["read"] }"#])],
            write: (.put, ["policy": #"path "*" { capabilities = ["sudo", "read", "update", "create", "delete", "list"] }"#])),
        Family(
            name: "approle roles", allowed: "auth/approle/role/*", denied: "auth/approle/role/payroll",
            setup: [("/v1/auth/approle/role/payroll", .post, ["token_policies": ["default"]])],
            write: (.post, ["token_policies": ["admin"], "secret_id_num_uses": 0])),
        Family(
            name: "feature sets", allowed: "coffer/features/sets/*", denied: "coffer/features/sets/payroll",
            setup: [("/v1/coffer/features/sets/payroll", .put, ["description": "the-real-one"])],
            write: (.put, ["description": "overwritten"])),
        Family(
            name: "metric retention", allowed: "coffer/metrics/retention/*", denied: "coffer/metrics/retention/payroll_total",
            setup: [("/v1/coffer/metrics/retention/payroll_total", .put, ["raw": "1h"])],
            write: (.put, ["raw": "1s"])),
        Family(
            name: "cache entries", allowed: "coffer/cache/entries/hr/*", denied: "coffer/cache/entries/hr/payroll",
            setup: [("/v1/coffer/cache/entries/hr/payroll", .put, ["value": "the-real-one"])],
            write: (.put, ["value": "overwritten"])),
        Family(
            name: "mounts", allowed: "sys/mounts/*", denied: "sys/mounts/payroll",
            setup: [("/v1/sys/mounts/payroll", .post, ["type": "kv", "options": ["version": "2"], "description": "the-real-one"])],
            write: (.delete, [:]))
    ]

    /// The spellings of `path`'s last segment an attacker tries (the router decodes once and refuses what is
    /// ambiguous, so each must reach the denied object as itself, or nothing).
    static func spellings(_ path: String) -> [String] {
        let slash = path.lastIndex(of: "/")!
        let folder = String(path[..<slash]), name = String(path[path.index(after: slash)...])
        let first = name.unicodeScalars.first!.value, rest = String(name.dropFirst())
        return [
            String(format: "%%%02X", first) + rest, String(format: "%%%02x", first) + rest, String(format: "%%25%02X", first) + rest,
            name + "/", "./" + name, "x/../" + name, "x/%2E%2E/" + name, "/" + name, name + "%00", name.uppercased(), "%2F" + name
        ]
        .map { "/v1/" + folder + "/" + $0 }
    }

    /// Every family's deny rule holds against every spelling, for reads and writes, and the object is as root left it.
    @Test(arguments: TestDatabase.backends)
    func everyRouteFamilyHoldsItsDenyRule(backend: TestBackend) async throws {
        guard backend == .sqlite || TestDatabase.runsPostgres else { return }
        try await withUnsealedServer(backend) { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                var rules = ""
                for family in Self.families {
                    rules += "path \"\(family.allowed)\" { capabilities = [\"create\", \"read\", \"update\", \"list\"] }\n"
                    rules += "path \"\(family.denied)\" { capabilities = [\"deny\"] }\n"
                    for (uri, method, body) in family.setup {
                        let (status, answer) = try await client.call(uri, method, token: root, body)
                        #expect(status.code < 300, "\(family) setup \(uri): \(answer)")
                    }
                }
                #expect(try await client.call("/v1/sys/policies/acl/families", .put, token: root, ["policy": rules]).0 == .noContent)
                let attacker = try await client.createToken(parent: root, ["policies": ["families"]]).token
                for family in Self.families {
                    let (_, before) = try await client.call("/v1/" + family.denied, .get, token: root)
                    #expect(
                        try await client.call("/v1/" + family.denied, .get, token: attacker).0 == .forbidden, "\(family): the rule itself")
                    for uri in Self.spellings(family.denied) {
                        let (read, readBody) = try await client.call(uri, .get, token: attacker)
                        #expect(read.code < 500, "\(family) GET \(uri)")
                        if read == .ok {
                            // Only a different object may answer (another name, such as the upper-case one).
                            #expect(
                                !"\(readBody)".contains("payroll\"") && !"\(readBody)".contains("the-real-one"),
                                "\(family) GET \(uri): \(readBody)")
                        }
                        let (write, _) = try await client.call(uri, family.write.0, token: attacker, family.write.1)
                        #expect(write.code < 500, "\(family) \(family.write.0) \(uri)")
                    }
                    let (_, after) = try await client.call("/v1/" + family.denied, .get, token: root)
                    // A cache answer says which tier served it (memory or database), which is no change to the entry.
                    func stored(_ answer: [String: Any]) -> Any {
                        guard var data = answer["data"] as? [String: Any] else { return answer }
                        data["source"] = nil
                        return data
                    }
                    #expect(
                        try Self.canonicalJSON(stored(after)) == Self.canonicalJSON(stored(before)), "\(family): the denied object changed")
                }
            }
        }
    }

    static func canonicalJSON(_ value: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]), as: UTF8.self)
    }

    static func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? text
    }

    /// A token with `num_uses = 1` spent by 32 requests at once: exactly one is served. Twenty rounds.
    /// The audit timeout is long (20 s, as the concurrent-writer test uses): with the whole suite running on
    /// two cores, the winner's audit entry could otherwise miss the default deadline and be refused (503,
    /// fail-closed), which is the audit's behaviour under load, not the use count's.
    @Test(arguments: TestDatabase.backends)
    func lastUseIsSpentOnce(backend: TestBackend) async throws {
        guard backend == .sqlite || TestDatabase.runsPostgres else { return }
        try await withUnsealedServer(backend, auditTimeout: "20000") { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                try await client.call(
                    "/v1/sys/policies/acl/race", .put, token: root, ["policy": #"path "secret/data/race" { capabilities = ["read"] }"#])
                try await client.call("/v1/secret/data/race", .post, token: root, ["data": ["k": "v"]])
                for round in 0..<20 {
                    let token = try await client.createToken(parent: root, ["policies": ["race"], "num_uses": 1]).token
                    let answers = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String).self) { group in
                        for _ in 0..<32 {
                            group.addTask {
                                let (status, body) = try await client.call("/v1/secret/data/race", .get, token: token)
                                return (status, "\(body["errors"] ?? "")")
                            }
                        }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                    let served = answers.filter { $0.0 == .ok }.count
                    let refusals = Set(answers.filter { $0.0 != .ok }.map { "\($0.0.code) \($0.1)" })
                    #expect(served == 1, "round \(round): \(served) requests spent one use; the others: \(refusals)")
                }
            }
        }
    }

    /// A single-use secret ID redeemed by 32 logins at once (each from its own address, so no rate limit
    /// decides): exactly one token is issued. Twenty rounds.
    @Test(arguments: TestDatabase.backends)
    func singleUseSecretIDIsRedeemedOnce(backend: TestBackend) async throws {
        guard backend == .sqlite || TestDatabase.runsPostgres else { return }
        try await withUnsealedServer(backend, auditTimeout: "20000") { server, root in
            let appRole = server.gate.appRole
            for round in 0..<20 {
                let name = "race-\(round)"
                let (roleID, secretID) = try await server.gate.perform(
                    GateRequest(
                        token: root, path: try CanonicalPath(validating: "auth/approle/role/\(name)"), operation: .write,
                        requestID: UUID().uuidString, remoteAddress: "test"), status: { _ in 200 }
                ) { grant in
                    let role = AppRoleRole(name: name, policies: ["default"], secretIDNumUses: 1)
                    try await appRole.write(grant, mount: "approle", role)
                    return (
                        role.roleID,
                        try await appRole.generateSecretID(
                            grant, mount: "approle", role: name, metadata: nil, cidrList: [], ttl: nil, numUses: nil
                        ).secretID
                    )
                }
                let issued = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for attempt in 0..<32 {
                        group.addTask {
                            let login = GateRequest(
                                token: nil, path: "auth/approle/login", operation: .update, access: .open,
                                requestID: UUID().uuidString, remoteAddress: "10.\(round).0.\(attempt)")
                            return
                                (try? await server.gate.perform(login, status: { _ in 200 }) { grant in
                                    try await appRole.login(grant, mount: "approle", roleID: roleID, secretID: secretID)
                                }) != nil
                        }
                    }
                    return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
                }
                #expect(issued == 1, "round \(round): \(issued) logins redeemed one secret ID")
            }
        }
    }

    /// Auth methods never issue root tokens: a role naming `root` is refused when written.
    @Test func approleRefusesRoot() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                let (status, body) = try await client.call(
                    "/v1/auth/approle/role/escalate", .post, token: root, ["token_policies": ["root"]])
                #expect(status == .badRequest, "\(body)")
                #expect(try await client.call("/v1/auth/approle/role/escalate", .get, token: root).0 == .notFound)
            }
        }
    }

    /// `create` alone makes new things but never overwrites: a policy, an AppRole role.
    @Test func createDoesNotOverwrite() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                try await client.call(
                    "/v1/sys/policies/acl/creator", .put, token: root,
                    [
                        "policy": """
                        path "sys/policies/acl/*" { capabilities = ["create"] }
                        path "auth/approle/role/*" { capabilities = ["create"] }
                        """
                    ])
                try await client.call(
                    "/v1/sys/policies/acl/existing", .put, token: root, ["policy": #"path "secret/data/x" { capabilities = ["read"] }"#])
                try await client.call("/v1/auth/approle/role/existing", .post, token: root, ["token_policies": ["default"]])
                let creator = try await client.createToken(parent: root, ["policies": ["creator"]]).token
                let widened = #"path "*" { capabilities = ["create", "read", "update", "delete", "list", "sudo"] }"#
                #expect(try await client.call("/v1/sys/policies/acl/existing", .put, token: creator, ["policy": widened]).0 == .forbidden)
                #expect(
                    try await client.call(
                        "/v1/sys/policies/acl/brand-new", .put, token: creator, ["policy": #"path "a" { capabilities = ["read"] }"#]
                    ).0 == .noContent)
                #expect(
                    try await client.call("/v1/auth/approle/role/existing", .post, token: creator, ["token_policies": ["admin"]]).0
                        == .forbidden)
                #expect(
                    try await client.call("/v1/auth/approle/role/fresh", .post, token: creator, ["token_policies": ["default"]]).0
                        == .noContent)
                let (_, stored) = try await client.answer(Sys.Policy.self, "/v1/sys/policies/acl/existing", .get, token: root)
                #expect(stored.data?.policy == #"path "secret/data/x" { capabilities = ["read"] }"#)
            }
        }
    }

    /// Rotation settings that name a database connection need rights on that connection; with them, accepted.
    @Test func rotationSettingsNamingAConnectionArePrivileged() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                try await client.call(
                    "/v1/sys/policies/acl/kv-writer", .put, token: root,
                    [
                        "policy": """
                        path "secret/data/app/*" { capabilities = ["create", "read", "update"] }
                        path "secret/metadata/app/*" { capabilities = ["create", "read", "update"] }
                        """
                    ])
                try await client.call(
                    "/v1/sys/policies/acl/db-operator", .put, token: root,
                    [
                        "policy": """
                        path "secret/metadata/app/*" { capabilities = ["create", "read", "update"] }
                        path "database/config/main" { capabilities = ["update"] }
                        """
                    ])
                let writer = try await client.createToken(parent: root, ["policies": ["kv-writer"]]).token
                let operator_ = try await client.createToken(parent: root, ["policies": ["db-operator"]]).token
                try await client.call("/v1/secret/data/app/db", .post, token: root, ["data": ["username": "app"]])
                let settings: [String: Any] = ["rotation_kind": "postgres-password", "rotation_settings": ["db_name": "main"]]
                let (refused, body) = try await client.call("/v1/secret/metadata/app/db", .post, token: writer, settings)
                #expect(refused == .forbidden, "\(body)")
                #expect("\(body)".contains("database/config/main"))
                var overriding = settings
                overriding["rotation_settings"] = ["db_name": "main", "rotation_statements": ["DROP ROLE {{name}}"]]
                #expect(try await client.call("/v1/secret/metadata/app/db", .post, token: operator_, overriding).0 == .forbidden)
                // With update on the connection (which does not exist here), the settings get past the rights check
                // and are refused for naming no connection: 400, not 403.
                #expect(try await client.call("/v1/secret/metadata/app/db", .post, token: operator_, settings).0 == .badRequest)
                let metadata = try await client.kvMetadata(root, "app/db")
                #expect((metadata.rotationKind ?? "") == "")
            }
        }
    }
}
