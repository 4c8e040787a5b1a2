package import CofferAccess
package import CofferServer
import Foundation
package import HummingbirdTesting
import HTTPTypes

/// Tokens with a suite module's reader and writer policies (from Policies/), made by root.
package struct SuiteTokens {
    package let reader: (token: String, accessor: String)
    package let writer: (token: String, accessor: String)

    package static let policies = #filePath.components(separatedBy: "/Tests/")[0] + "/Policies"

    package static func make(_ client: some TestClientProtocol, root: String, module: String) async throws -> SuiteTokens {
        for role in ["reader", "writer"] {
            let text = try String(contentsOfFile: "\(policies)/\(module)-\(role).hcl", encoding: .utf8)
            let (status, _) = try await client.call("/v1/sys/policies/acl/\(module)-\(role)", .put, token: root, ["policy": text])
            guard status == .noContent else { throw FixtureFailure("policy \(module)-\(role): \(status)") }
        }
        return SuiteTokens(
            reader: try await client.createToken(parent: root, ["policies": ["\(module)-reader"], "no_default_policy": true]),
            writer: try await client.createToken(parent: root, ["policies": ["\(module)-writer"], "no_default_policy": true]))
    }
}

extension CofferServer {
    /// Audit entries on paths matching `glob`.
    package func auditEntries(_ glob: String) async throws -> [AuditEntry] {
        try await AuditTrail(database: database).query(.init(pathGlob: glob, limit: 1000)).map(\.entry)
    }
}
