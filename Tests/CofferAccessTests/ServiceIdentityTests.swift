import CofferAccess
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import Testing

/// Coffer's background work acts as named service identities with policies of their own: each may do what
/// its file in Policies/services/ says and nothing else, and the trail names it.
struct ServiceIdentityTests {
    /// The policy each identity runs under is exactly its shipped file, and every file is an identity.
    @Test func policiesAreTheShippedFiles() throws {
        let root = #filePath.components(separatedBy: "/Tests/")[0]
        let files = try PolicyFolder.texts("\(root)/Policies/services")
        #expect(Set(files.keys) == Set(ServiceIdentity.all.map(\.name)))
        for service in ServiceIdentity.all {
            #expect(files[service.name] == service.policyText, "Policies/services/\(service.name).hcl differs from the built-in policy")
        }
    }

    /// Within its policy a service is allowed and audited under its name; outside it (a secret, sys/, another
    /// service's work, a health check credential outside secret/health-checks/) it is refused, and the
    /// refusal is audited too. None of them can create, list or sudo anything it was not given.
    @Test func eachServiceReachesOnlyWhatItsPolicyAllows() async throws {
        try await withUnsealedServer { server, _ in
            let allowed: [(ServiceIdentity, CanonicalPath, GateRequest.Operation)] = [
                (.healthRunner, "coffer/health/checks", .read), (.healthRunner, "coffer/health/results", .write),
                (.healthRunner, "secret/data/health-checks/pg", .read),
                (.suiteMaintenance, "coffer/cache/tidy", .delete), (.suiteMaintenance, "coffer/errors/events", .write),
                (.leaseReaper, "sys/leases/tidy", .delete),
                (.rotationScheduler, "coffer/rotation/run", .rotate), (.rotationScheduler, "coffer/rotation/rotate/secret/app/db", .rotate),
                (.rotationScheduler, "secret/data/db/admin", .read)
            ]
            let refused: [(ServiceIdentity, CanonicalPath, GateRequest.Operation)] = [
                (.healthRunner, "secret/data/app/db", .read), (.healthRunner, "secret/data/health-checks/pg", .write),
                (.healthRunner, "secret/metadata/health-checks/pg", .read), (.healthRunner, "sys/policies/acl/x", .write),
                (.healthRunner, "coffer/cache/tidy", .delete), (.healthRunner, "coffer/health/checks", .delete),
                (.suiteMaintenance, "coffer/health/results", .write), (.suiteMaintenance, "auth/token/create", .update),
                (.suiteMaintenance, "coffer/cache/tidy", .read),
                (.leaseReaper, "sys/leases/revoke-prefix/database", .update), (.leaseReaper, "database/creds/app", .read),
                (.rotationScheduler, "secret/data/app/db", .write), (.rotationScheduler, "secret/metadata/app/db", .write),
                (.rotationScheduler, "secret/metadata/app", .list), (.rotationScheduler, "sys/policies/acl/x", .write),
                (.rotationScheduler, "auth/token/create", .update), (.rotationScheduler, "database/config/pg", .update),
                (.rotationScheduler, "coffer/rotation/status", .read)
            ]
            for (service, path, operation) in allowed {
                let answer = try await server.gate.perform(.service(service, path: path, operation: operation), status: { _ in 200 }) {
                    grant in
                    grant.displayName
                }
                #expect(answer == "service:\(service.name)")
            }
            for (service, path, operation) in refused {
                await #expect(throws: AccessError.self, "\(service.name) \(operation) \(path)") {
                    try await server.gate.perform(.service(service, path: path, operation: operation), status: { _ in 403 }) { _ in
                        Issue.record("\(service.name) reached \(path)")
                    }
                }
            }
            let trail = try await server.database.read { conn in
                try conn.query(
                    "SELECT accessor, display_name, path, decision FROM audit_log WHERE kind = 'response' AND accessor LIKE 'service:%'"
                ).map {
                    try [
                        $0.decode(String.self, at: 0), $0.decode(String.self, at: 1), $0.decode(String.self, at: 2),
                        $0.decode(String.self, at: 3)
                    ]
                }
            }
            #expect(trail.count == allowed.count + refused.count)
            #expect(trail.contains(["service:health-runner", "service:health-runner", "secret/data/app/db", "deny"]))
            #expect(trail.contains(["service:lease-reaper", "service:lease-reaper", "sys/leases/tidy", "allow"]))
        }
    }
}
