import CofferFoundation
import CofferServer
import CofferServerTesting
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Policy names as Vault keeps them, in lower case, everywhere a name enters; and no other spelling of a
/// name reaches a policy its rules protect.
struct PolicyNameTests {
    /// A capabilities answer's list (the answer also carries Vault's envelope fields, so it is not all lists).
    static func strings(_ value: JSONValue?) -> [String]? {
        guard case .array(let items)? = value else { return nil }
        let strings = items.compactMap(\.string)
        return strings.count == items.count ? strings : nil
    }

    @Test func namesAreLowerCaseAndCaseIsNoWayAroundARule() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(
                    try await client.call(
                        "/v1/sys/policies/acl/Team-Reader", .put, token: root,
                        ["policy": #"path "secret/data/team/*" { policy = "read" }"#]
                    ).0 == .noContent)
                let read = try await client.answer(Sys.Policy.self, "/v1/sys/policies/acl/team-reader", .get, token: root)
                #expect(read.1.data?.name == "team-reader")
                let listed = try await client.answer(KV.Keys.self, "/v1/sys/policies/acl?list=true", .get, token: root)
                #expect(listed.1.data?.keys.contains("team-reader") == true)

                // A token asking for TEAM-READER has team-reader, and it works.
                let made = try await client.answer(UnreadData.self, "/v1/auth/token/create", token: root, ["policies": ["TEAM-READER"]])
                let auth = try #require(made.1.auth)
                #expect(auth.policies == ["default", "team-reader"])
                #expect(try await client.call("/v1/secret/data/team/db", token: root, ["data": ["k": "v"]]).0 == .ok)
                #expect(
                    try await client.call("/v1/secret/data/team/db", .get, token: auth.clientToken).0 == .ok)

                // An editor allowed everything under sys/policies/acl except `admins` cannot reach it as ADMINS.
                #expect(
                    try await client.call(
                        "/v1/sys/policies/acl/editor", .put, token: root,
                        [
                            "policy": """
                            path "sys/policies/acl/*" { capabilities = ["create", "read", "update", "delete"] }
                            path "sys/policies/acl/admins" { capabilities = ["deny"] }
                            """
                        ]
                    ).0 == .noContent)
                #expect(
                    try await client.call(
                        "/v1/sys/policies/acl/admins", .put, token: root,
                        ["policy": #"path "sys/*" { capabilities = ["sudo", "read"] }"#]
                    ).0 == .noContent)
                let editor = try await client.createToken(parent: root, ["policies": ["editor"]]).token
                for spelling in ["ADMINS", "Admins", "aDmins"] {
                    let grab = ["policy": #"path "*" { capabilities = ["sudo", "create", "read", "update", "delete", "list"] }"#]
                    #expect(
                        try await client.call("/v1/sys/policies/acl/\(spelling)", .put, token: editor, grab).0 == .forbidden, "\(spelling)")
                    #expect(
                        try await client.call("/v1/sys/policy/\(spelling)", .put, token: editor, ["rules": grab["policy"]!]).0 == .forbidden
                    )
                    #expect(try await client.call("/v1/sys/policies/acl/\(spelling)", .get, token: editor).0 == .forbidden)
                    #expect(try await client.call("/v1/sys/policies/acl/\(spelling)", .delete, token: editor).0 == .forbidden)
                }
                let kept = try await client.answer(Sys.Policy.self, "/v1/sys/policies/acl/admins", .get, token: root)
                #expect(kept.1.data?.policy.contains(#"path "sys/*""#) == true)
                // Its own names it may still spell as it likes.
                #expect(
                    try await client.call(
                        "/v1/sys/policies/acl/Mine", .put, token: editor,
                        ["policy": #"path "x/*" { capabilities = ["read"] }"#]
                    ).0 == .noContent)
            }
        }
    }

    /// `sys/capabilities*` answer what the Gate decides: a path shows `read` exactly when a read of it is let through.
    @Test func capabilitiesAnswerWhatTheGateDecides() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                #expect(
                    try await client.call(
                        "/v1/sys/policies/acl/mixed", .put, token: root,
                        [
                            "policy": """
                            path "secret/data/app/*" { capabilities = ["read", "update"] }
                            path "secret/data/app/prod" { capabilities = ["deny"] }
                            path "secret/data/+/shared" { capabilities = ["read"] }
                            """
                        ]
                    ).0 == .noContent)
                let (reader, accessor) = try await client.createToken(parent: root, ["policies": ["mixed"]])
                for path in ["secret/data/app/db", "secret/data/app/prod", "secret/data/team/shared", "secret/data/other", "sys/mounts"] {
                    #expect(try await client.call("/v1/" + path, token: root, ["data": ["k": "v"]]).0 == .ok || path == "sys/mounts")
                    let (_, own) = try await client.plain(
                        [String: JSONValue].self, "/v1/sys/capabilities-self", .post, token: reader, ["path": path])
                    let (_, other) = try await client.plain(
                        [String: JSONValue].self, "/v1/sys/capabilities", .post, token: root, ["token": reader, "paths": [path]])
                    let (_, byAccessor) = try await client.plain(
                        [String: JSONValue].self, "/v1/sys/capabilities-accessor", .post, token: root, ["accessor": accessor, "path": path])
                    let capabilities = try #require(Self.strings(own["capabilities"]))
                    #expect(Self.strings(other[path]) == capabilities && Self.strings(byAccessor["capabilities"]) == capabilities)
                    let (status, _) = try await client.call("/v1/" + path, .get, token: reader)
                    #expect(capabilities.contains("read") == (status != .forbidden), "\(path): \(capabilities), GET \(status)")
                }
                let (_, rootView) = try await client.plain(
                    [String: JSONValue].self, "/v1/sys/capabilities-self", .post, token: root, ["paths": ["anything/at/all"]])
                #expect(Self.strings(rootView["anything/at/all"]) == ["root"])
                #expect(try await client.call("/v1/sys/capabilities", token: reader, ["token": root, "paths": ["x"]]).0 == .forbidden)
                #expect(
                    try await client.call("/v1/sys/capabilities", token: root, ["token": "cfs.unknown", "paths": ["x"]]).0 == .badRequest)
            }
        }
    }
}
