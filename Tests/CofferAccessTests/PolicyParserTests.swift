@testable import CofferAccess
import Foundation
import Testing

struct PolicyParserTests {
    @Test func parsesTheHCLSubsetWithComments() throws {
        let policy = try PolicyParser.parse(
            name: "p",
            text: """
                # a comment
                path "secret/data/app/*" {   // another
                  capabilities = ["read", "list",]
                }
                /* block
                   comment */
                path "secret/+/config" { capabilities = ["deny"] }
                """)
        #expect(policy.rules.count == 2)
        #expect(policy.rules[0].path.text == "secret/data/app/*")
        #expect(policy.rules[0].capabilities == [.read, .list])
        #expect(policy.rules[0].location == "2:1")
        #expect(policy.rules[1].capabilities == .deny)
    }

    /// Vault's older `policy = "…"` word, in HCL and JSON, alone or beside capabilities (merged; `deny` wins).
    @Test func olderPolicyWordsAsVaultMapsThem() throws {
        let cases: [(String, Capabilities)] = [
            ("deny", .deny), ("read", [.read, .list]), ("write", [.create, .read, .update, .delete, .list]),
            ("sudo", [.create, .read, .update, .delete, .list, .sudo])
        ]
        for (word, expected) in cases {
            let hcl = try PolicyParser.parse(name: "p", text: "path \"secret/*\" { policy = \"\(word)\" }")
            let json = try PolicyParser.parse(name: "p", text: #"{"path": {"secret/*": {"policy": "\#(word)"}}}"#)
            #expect(hcl.rules[0].capabilities == expected && json.rules[0].capabilities == expected, "\(word)")
        }
        let merged = try PolicyParser.parse(name: "p", text: #"path "a/*" { capabilities = ["patch"] policy = "read" }"#)
        #expect(merged.rules[0].capabilities == [.patch, .read, .list])
        let denied = try PolicyParser.parse(name: "p", text: #"path "a/*" { capabilities = ["read", "sudo"] policy = "deny" }"#)
        #expect(denied.rules[0].capabilities == .deny)
        #expect(throws: PolicyError.self) { try PolicyParser.parse(name: "p", text: #"path "a/*" { policy = "root" }"#) }
        #expect(throws: PolicyError.self) { try PolicyParser.parse(name: "p", text: #"path "a/*" { policy = read }"#) }
    }

    @Test func jsonFormIsEquivalent() throws {
        let hcl = try PolicyParser.parse(name: "p", text: #"path "secret/*" { capabilities = ["read", "update"] }"#)
        let json = try PolicyParser.parse(name: "p", text: #"{"path": {"secret/*": {"capabilities": ["read", "update"]}}}"#)
        #expect(hcl.rules.map(\.path) == json.rules.map(\.path))
        #expect(hcl.rules.map(\.capabilities) == json.rules.map(\.capabilities))
    }

    @Test(arguments: [
        (#"path "a" { capabilities = ["read"] allowed_parameters = {} }"#, "1:36", "unknown key \"allowed_parameters\""),
        (#"path "a" { capabilities = ["reed"] }"#, "1:28", "unknown capability \"reed\""),
        ("path \"a\" {\n  capabilities = [\"read\"\n", "", "not closed"),
        (#"path "a/*/b" { capabilities = ["read"] }"#, "1:6", "only at the end"),
        (#"path "a/b+" { capabilities = ["read"] }"#, "1:6", "whole path segment"),
        (#"path "a/+*" { capabilities = ["read"] }"#, "1:6", "whole path segment"),
        (#"paths "a" { capabilities = ["read"] }"#, "1:1", "expected path"),
        (#"path "a" { }"#, "1:1", "has no capabilities"),
        (#"{"path": {"a": {"capabilities": ["read"], "max_ttl": "1h"}}}"#, "", "unknown key \"max_ttl\"")
    ])
    func refusesBadPoliciesWithLineAndColumn(text: String, location: String, message: String) {
        do {
            _ = try PolicyParser.parse(name: "bad", text: text)
            Issue.record("accepted: \(text)")
        } catch let error as PolicyError {
            #expect(error.description.contains(message), "\(error)")
            if !location.isEmpty { #expect(error.description.contains("bad:\(location)"), "\(error)") }
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}

struct ACLTests {
    func acl(_ policies: [(String, String)]) throws -> ACL {
        ACL(policies: try policies.map { try PolicyParser.parse(name: $0.0, text: $0.1) })
    }

    /// Vault's documented priority examples.
    @Test func mostSpecificPathWins() throws {
        let acl = try acl([
            (
                "p",
                """
                path "secret/*" { capabilities = ["read"] }
                path "secret/+/config" { capabilities = ["update"] }
                path "secret/app/config" { capabilities = ["list"] }
                path "secret/app/*" { capabilities = ["create"] }
                """
            )
        ])
        #expect(acl.check(.list, on: "secret/app/config").allowed) // exact beats everything
        #expect(!acl.check(.read, on: "secret/app/config").allowed)
        #expect(acl.check(.create, on: "secret/app/other").allowed) // a later wildcard is more specific
        #expect(acl.check(.update, on: "secret/db/config").allowed) // + before * at the same position? * is later here
        #expect(acl.check(.read, on: "secret/db/other").allowed)
        #expect(!acl.check(.read, on: "other/x").allowed)
        #expect(acl.check(.read, on: "other/x").pattern == nil)
    }

    @Test func capabilitiesMergeAcrossPoliciesAndDenyWins() throws {
        let acl = try acl([
            ("reader", #"path "secret/data/app/*" { capabilities = ["read"] }"#),
            ("writer", #"path "secret/data/app/*" { capabilities = ["update"] }"#),
            ("blocker", #"path "secret/data/app/private" { capabilities = ["deny"] }"#)
        ])
        let decision = acl.check(.update, on: "secret/data/app/x")
        #expect(decision.allowed && decision.capabilities == [.read, .update])
        #expect(decision.sources.count == 2)
        #expect(!acl.check(.read, on: "secret/data/app/private").allowed)
        let withDeny = try self.acl([
            ("a", #"path "secret/*" { capabilities = ["read"] }"#), ("b", #"path "secret/*" { capabilities = ["deny"] }"#)
        ])
        #expect(!withDeny.check(.read, on: "secret/x").allowed)
    }

    /// Random policies and paths: the ACL agrees with a small reference model written independently
    /// (regular expressions for matching, a sort key for priority).
    @Test func agreesWithAReferenceModel() throws {
        var generator = SeededGenerator(seed: UInt64(Date().timeIntervalSince1970))
        let seed = generator.state
        let words = ["a", "b", "c", "secret", "data"]
        for round in 0..<300 {
            var policies: [Policy] = []
            for index in 0..<Int.random(in: 1...3, using: &generator) {
                var rules: [Policy.Rule] = []
                for _ in 0..<Int.random(in: 1...6, using: &generator) {
                    var segments = (0..<Int.random(in: 1...3, using: &generator)).map { _ -> String in
                        Int.random(in: 0..<4, using: &generator) == 0 ? "+" : words.randomElement(using: &generator) ?? "a"
                    }
                    if Bool.random(using: &generator) {
                        // `+*` is not a pattern (a + must be a whole segment): a glob ends a literal segment or stands alone.
                        if segments[segments.count - 1] == "+" { segments.append("*") } else { segments[segments.count - 1] += "*" }
                    }
                    var capabilities: Capabilities = []
                    for (_, capability) in Capabilities.names where Int.random(in: 0..<4, using: &generator) == 0 {
                        capabilities.insert(capability)
                    }
                    rules.append(Policy.Rule(path: try PathPattern(segments.joined(separator: "/")), capabilities: capabilities))
                }
                policies.append(Policy(name: "p\(index)", rules: rules))
            }
            let acl = ACL(policies: policies)
            for _ in 0..<20 {
                let path = (0..<Int.random(in: 1...4, using: &generator)).map { _ in words.randomElement(using: &generator) ?? "a" }.joined(
                    separator: "/")
                let capability = Capabilities.names.filter { $0.1 != .deny }.randomElement(using: &generator)?.1 ?? .read
                let expected = ReferenceACL.allowed(policies, capability, path)
                #expect(acl.check(capability, on: path).allowed == expected, "seed \(seed) round \(round): \(capability) on \(path)")
            }
        }
    }
}

/// The reference model: deliberately naive.
enum ReferenceACL {
    static func regex(_ pattern: String) -> NSRegularExpression {
        var body = NSRegularExpression.escapedPattern(for: pattern.hasSuffix("*") ? String(pattern.dropLast()) : pattern)
        body = body.replacingOccurrences(of: "\\+", with: "[^/]*")
        return try! NSRegularExpression(pattern: "^" + body + (pattern.hasSuffix("*") ? ".*" : "") + "$")
    }

    static func key(_ pattern: String) -> (Int, Int, Int, Int, String) {
        let chars = Array(pattern)
        var first = Int.max
        for (index, character) in chars.enumerated() where character == "*" || (character == "+" && (index == 0 || chars[index - 1] == "/"))
        {
            first = index
            break
        }
        let plus = pattern.split(separator: "/", omittingEmptySubsequences: false).filter { $0 == "+" }.count
        return (first, pattern.hasSuffix("*") ? 0 : 1, -plus, pattern.count, pattern)
    }

    static func allowed(_ policies: [Policy], _ capability: Capabilities, _ path: String) -> Bool {
        var merged: [String: Capabilities] = [:]
        for rule in policies.flatMap(\.rules) { merged[rule.path.text, default: []].formUnion(rule.capabilities) }
        let matching = merged.keys.filter { pattern in
            regex(pattern).firstMatch(in: path, range: NSRange(path.startIndex..., in: path)) != nil
        }
        guard let best = matching.max(by: { key($0) < key($1) }), let capabilities = merged[best] else { return false }
        return !capabilities.contains(.deny) && capabilities.contains(capability)
    }
}

/// SplitMix64, so that a failing round can be replayed from the printed seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Every file in Policies/ parses, and each does what its comment says.
struct DefaultPoliciesTests {
    func load(_ name: String) throws -> Policy {
        let root = #filePath.components(separatedBy: "/Tests/")[0]
        let text = try String(contentsOfFile: "\(root)/Policies/\(name).hcl", encoding: .utf8)
        return try PolicyParser.parse(name: name, text: text)
    }

    @Test func admin() throws {
        let acl = ACL(policies: [try load("admin")])
        #expect(acl.check([.read, .update, .sudo], on: "sys/policies/acl/x").allowed)
        #expect(acl.check(.rotate, on: "coffer/rotation/run").allowed)
    }

    @Test func defaultPolicy() throws {
        let acl = ACL(policies: [try load("default")])
        #expect(acl.check(.read, on: "auth/token/lookup-self").allowed)
        #expect(acl.check(.update, on: "auth/token/renew-self").allowed)
        #expect(!acl.check(.read, on: "secret/data/x").allowed)
        #expect(!acl.check(.update, on: "auth/token/create").allowed)
    }

    /// The default policy a fresh database gets is exactly the shipped file.
    @Test func storedDefaultIsTheShippedFile() throws {
        let root = #filePath.components(separatedBy: "/Tests/")[0]
        #expect(try String(contentsOfFile: "\(root)/Policies/default.hcl", encoding: .utf8) == PolicyStore.defaultText)
    }

    /// Each persistence module has a reader and a writer policy: the reader reads and lists its own module
    /// only, the writer also changes it, and neither reaches another module, a secret or sys/.
    @Test(arguments: ["models", "features", "cache", "metrics", "errors", "health"])
    func modulePolicies(module: String) throws {
        let reader = ACL(policies: [try load("\(module)-reader")])
        let writer = ACL(policies: [try load("\(module)-writer")])
        let own = "coffer/\(module)/some/item"
        #expect(reader.check(.read, on: own).allowed && reader.check(.list, on: "coffer/\(module)/some/").allowed)
        for change in [Capabilities.create, .update, .patch, .delete] {
            #expect(!reader.check(change, on: own).allowed, "\(module)-reader must not \(change)")
            #expect(writer.check(change, on: own).allowed, "\(module)-writer must \(change)")
        }
        let other = module == "models" ? "features" : "models"
        for acl in [reader, writer] {
            #expect(!acl.check(.read, on: "coffer/\(other)/x").allowed)
            #expect(!acl.check(.read, on: "secret/data/app/db").allowed)
            #expect(!acl.check(.read, on: "sys/audit-trail/entries").allowed)
            #expect(!acl.check(.sudo, on: own).allowed)
        }
    }

    @Test func serviceReader() throws {
        let acl = ACL(policies: [try load("service-reader"), try load("default")])
        #expect(acl.check(.read, on: "secret/data/app/db").allowed)
        #expect(!acl.check(.update, on: "secret/data/app/db").allowed)
        #expect(!acl.check(.read, on: "secret/data/other/db").allowed)
        #expect(acl.check(.list, on: "secret/metadata/app/").allowed)
    }

    @Test func rotationRunner() throws {
        let acl = ACL(policies: [try load("rotation-runner")])
        #expect(acl.check(.rotate, on: "coffer/rotation/run").allowed)
        #expect(acl.check(.read, on: "secret/data/db/password").allowed)
        #expect(!acl.check(.update, on: "secret/data/db/password").allowed)
        #expect(!acl.check(.read, on: "sys/policies/acl/admin").allowed)
    }

    @Test func auditor() throws {
        let acl = ACL(policies: [try load("auditor")])
        #expect(acl.check([.read, .audit], on: "sys/audit-trail/verify").allowed)
        #expect(acl.check([.update, .audit], on: "sys/audit-trail/hash").allowed)
        #expect(!acl.check(.update, on: "sys/audit-trail/verify").allowed)
        #expect(!acl.check(.read, on: "secret/data/app/db").allowed)
        #expect(!acl.check(.read, on: "sys/policies/acl/admin").allowed)
        // Deny stays even next to a broad grant.
        let widened = ACL(policies: [
            try load("auditor"), try PolicyParser.parse(name: "broad", text: #"path "secret/*" { capabilities = ["read"] }"#)
        ])
        #expect(!widened.check(.read, on: "secret/data/app/db").allowed)
    }
}

struct CIDRTests {
    @Test func containment() throws {
        #expect(try CIDR("10.0.0.0/8").contains("10.200.3.4"))
        #expect(try !CIDR("10.0.0.0/8").contains("11.0.0.1"))
        #expect(try CIDR("192.168.1.7").contains("192.168.1.7"))
        #expect(try !CIDR("192.168.1.7").contains("192.168.1.8"))
        #expect(try CIDR("10.1.2.0/23").contains("10.1.3.255"))
        #expect(try !CIDR("10.1.2.0/23").contains("10.1.4.0"))
        #expect(try CIDR("fd00::/8").contains("fd12::1"))
        #expect(try !CIDR("fd00::/8").contains("fe80::1"))
        #expect(try CIDR("127.0.0.0/8").contains("::ffff:127.0.0.1"))
        #expect(try CIDR("0.0.0.0/0").contains("8.8.8.8"))
        #expect(try !CIDR("10.0.0.0/8").contains("unknown"))
        for bad in ["10.0.0.0/33", "10.0.0/8", "::/129", "host", "10.0.0.0/-1", ""] {
            #expect(throws: AccessError.self, "\(bad)") { try CIDR(bad) }
        }
        #expect(try CIDR.list(["10.0.0.0/8, 192.168.0.0/16", "fd00::/8"]).count == 3)
    }
}
