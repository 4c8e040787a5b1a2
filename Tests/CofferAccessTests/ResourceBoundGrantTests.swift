import CofferAccess
import CofferCrypto
import CofferEngines
import CofferServer
import CofferServerTesting
import CofferTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// A grant is for the resource the Gate decided on. The credential store acts on that secret under any of the
/// names a request gives it; on any other secret only if the caller's own policies allow it there — so code
/// holding a grant for one secret cannot read, write or delete another through the store.
struct ResourceBoundGrantTests {
    @Test(arguments: TestDatabase.backends)
    func aGrantReachesOnlyItsOwnSecretOrWhatThePoliciesAllow(backend: TestBackend) async throws {
        try await withUnsealedServer(backend) { server, root in
            let token = try await Application(router: server.makeRouter()).test(.router) { client in
                for name in ["mine", "other", "shared"] {
                    try await client.call("/v1/secret/data/app/\(name)", token: root, ["data": ["v": name]])
                }
                let policy = """
                    path "secret/data/app/mine" { capabilities = ["read", "update", "delete"] }
                    path "secret/data/app/shared" { capabilities = ["read"] }
                    path "secret/data/app/other" { capabilities = ["deny"] }
                    """
                #expect(try await client.call("/v1/sys/policies/acl/mine", .put, token: root, ["policy": policy]).0 == .noContent)
                return try await client.createToken(parent: root, ["policies": ["mine"]]).token
            }
            let mine = try SecretPath(mount: "secret", path: "app/mine"), other = try SecretPath(mount: "secret", path: "app/other")
            let shared = try SecretPath(mount: "secret", path: "app/shared")
            let request = GateRequest(
                token: token, path: "secret/data/app/mine", operation: .read, requestID: UUID().uuidString, remoteAddress: "test")
            try await server.gate.perform(request, status: { _ in 200 }) { grant in
                guard case .found = try await server.credentials.read(grant, mine) else {
                    Issue.record("its own secret")
                    return
                }
                guard case .found = try await server.credentials.read(grant, shared) else {
                    Issue.record("a secret the policy reads")
                    return
                }
                await #expect(throws: AccessError.self) { try await server.credentials.read(grant, other) }
                await #expect(throws: AccessError.self) { try await server.credentials.metadata(grant, other) }
                await #expect(throws: AccessError.self) { try await server.credentials.metadata(grant, mine) } // metadata/ is not granted
                let data = SecureHandle(SecureBytes(copying: Array(#"{"v":"overwritten"}"#.utf8)))
                await #expect(throws: AccessError.self) { try await server.credentials.write(grant, other, data: data, cas: nil) }
                await #expect(throws: AccessError.self) { try await server.credentials.write(grant, shared, data: data, cas: nil) }
                await #expect(throws: AccessError.self) { try await server.credentials.change(grant, other, .delete, versions: nil) }
                await #expect(throws: AccessError.self) { try await server.credentials.change(grant, other, .destroy, versions: [1]) }
                await #expect(throws: AccessError.self) { try await server.credentials.deleteMetadata(grant, other) }
                await #expect(throws: AccessError.self) { try await server.credentials.list(grant, mount: "secret", folder: "app/") }
            }
            // Nothing changed underneath.
            let check = GateRequest(
                token: root, path: "secret/data/app/other", operation: .read, requestID: UUID().uuidString, remoteAddress: "test")
            try await server.gate.perform(check, status: { _ in 200 }) { grant in
                guard case .found(let secret) = try await server.credentials.read(grant, other) else {
                    Issue.record("other was changed")
                    return
                }
                #expect(
                    secret.metadata.version == 1
                        && String(decoding: secret.data.bytes.withUnsafeBytes { Array($0) }, as: UTF8.self) == #"{"v":"other"}"#)
            }
        }
    }
}
