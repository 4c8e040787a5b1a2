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
                let (_, list) = try await client.plain(BothShapes<PolicyList>.self, "/v1/sys/policy", .get, token: root)
                #expect(list.top.policies.contains("default") && list.top.keys.contains("default"))
                #expect(list.data == list.top)

                let (_, policy) = try await client.plain(BothShapes<LegacyPolicy>.self, "/v1/sys/policy/default", .get, token: root)
                #expect(policy.top.name == "default" && policy.top.rules.contains("lookup-self"))
                #expect(policy.data == policy.top)

                let (_, keys) = try await client.plain(BothShapes<KeyStatus>.self, "/v1/sys/key-status", .get, token: root)
                #expect(keys.top.term == 1 && keys.data == keys.top && !keys.top.installTime.isEmpty)
                #expect(!keys.requestID.isEmpty)
            }
        }
    }
}

/// An answer Vault gives in both shapes: the fields at the top level (older clients) and again under `data`
/// (hvac), with the request's id.
private struct BothShapes<T: Decodable & Equatable>: Decodable {
    let top: T
    let data: T
    let requestID: String

    enum CodingKeys: String, CodingKey {
        case data
        case requestID = "request_id"
    }

    init(from decoder: any Decoder) throws {
        top = try T(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        data = try container.decode(T.self, forKey: .data)
        requestID = try container.decode(String.self, forKey: .requestID)
    }
}

/// `sys/policy`.
private struct PolicyList: Decodable, Equatable {
    let policies: [String]
    let keys: [String]
}

/// `sys/policy/<name>`: the legacy path's `rules`.
private struct LegacyPolicy: Decodable, Equatable {
    let name: String
    let rules: String
}

/// `sys/key-status`.
private struct KeyStatus: Decodable, Equatable {
    let term: Int
    let installTime: String

    enum CodingKeys: String, CodingKey {
        case term
        case installTime = "install_time"
    }
}
