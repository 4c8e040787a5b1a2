import CofferServer
import CofferServerTesting
import CofferTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Vault's older `sys/` answers give their fields at the top level and again under `data` (OpenBao 2.7.2, checked
/// side by side): hvac reads `data`, older clients the top level.
struct VaultSysAnswersTests {
    @Test func legacyAnswersHaveBothShapes() async throws {
        try await withUnsealedServer { server, root in
            try await Application(router: server.makeRouter()).test(.router) { client in
                let (_, list) = try await client.call("/v1/sys/policy", .get, token: root)
                #expect(
                    (list["policies"] as? [String])?.contains("default") == true && (list["keys"] as? [String])?.contains("default") == true
                )
                let listData = try #require(list["data"] as? [String: Any])
                #expect(
                    (listData["policies"] as? [String]) == (list["policies"] as? [String])
                        && (listData["keys"] as? [String]) == (list["keys"] as? [String]))

                let (_, policy) = try await client.call("/v1/sys/policy/default", .get, token: root)
                #expect(policy["name"] as? String == "default" && (policy["rules"] as? String)?.contains("lookup-self") == true)
                let policyData = try #require(policy["data"] as? [String: Any])
                #expect(policyData["name"] as? String == "default" && policyData["rules"] as? String == policy["rules"] as? String)

                let (_, keys) = try await client.call("/v1/sys/key-status", .get, token: root)
                let keyData = try #require(keys["data"] as? [String: Any])
                #expect(
                    keys["term"] as? Int == 1 && keyData["term"] as? Int == 1
                        && keyData["install_time"] as? String == keys["install_time"] as? String)
                #expect(keys["request_id"] as? String != nil)
            }
        }
    }
}
