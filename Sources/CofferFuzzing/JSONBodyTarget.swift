import CofferCache
import CofferEngines
import CofferErrorLog
import CofferFeatures
import CofferFoundation
import CofferHTTP
import CofferHealth
import CofferMetrics
import CofferModels
import CofferRotation
import CofferSystem
import Foundation
import HTTPTypes
import NIOCore

/// Request bodies of every route family, decoded as the routes decode them (``Body``, Vault's weak decoding).
/// The first byte picks the body type; the rest is the body.
enum JSONBodyTarget {
    /// One decode per body type, named for the route that takes it.
    static let bodies: [(route: String, decode: @Sendable (ByteBuffer) throws -> Void)] = [
        ("sys/init", { _ = try Body.decode(SealRoutes.InitRequest.self, $0) }),
        ("sys/unseal", { _ = try Body.decode(SealRoutes.UnsealRequest.self, $0) }),
        ("sys/rewrap", { _ = try Body.decode(SealRoutes.RewrapRequest.self, $0) }),
        ("sys/rekey/update", { _ = try Body.decode(RekeyRoutes.KeyRequest.self, $0) }),
        ("sys/generate-root/attempt", { _ = try Body.decode(GenerateRootRoutes.AttemptRequest.self, $0) }),
        ("sys/generate-root/update", { _ = try Body.decode(GenerateRootRoutes.UpdateRequest.self, $0) }),
        ("auth/token/create", { _ = try Body.decode(TokenRoutes.CreateBody.self, $0) }),
        ("auth/token/roles/:role", { _ = try Body.decode(TokenRoutes.RoleBody.self, $0) }),
        ("auth/token/lookup", { _ = try Body.decode(TokenRoutes.TokenBody.self, $0) }),
        ("auth/token/lookup-accessor", { _ = try Body.decode(TokenRoutes.AccessorBody.self, $0) }),
        ("auth/token/renew", { _ = try Body.decode(TokenRoutes.RenewBody.self, $0) }),
        ("auth/approle/role/:role", { _ = try Body.decode(AppRoleRoutes.RoleRequest.self, $0) }),
        ("auth/approle/role/:role/secret-id", { _ = try Body.decode(AppRoleRoutes.SecretIDRequest.self, $0) }),
        ("auth/approle/role/:role/role-id", { _ = try Body.decode(AppRoleRoutes.RoleIDRequest.self, $0) }),
        ("sys/auth/:path", { _ = try Body.decode(AppRoleRoutes.EnableRequest.self, $0) }),
        ("auth/approle/role/:role/secret-id/lookup", { _ = try Body.decode(AppRoleRoutes.SecretIDLookup.self, $0) }),
        ("auth/approle/login", { _ = try Body.decode(AppRoleRoutes.LoginRequest.self, $0) }),
        ("sys/capabilities", { _ = try Body.decode(CapabilitiesRoutes.PathsBody.self, $0) }),
        ("sys/policies/acl/:name", { _ = try Body.decode(PolicyRoutes.PolicyBody.self, $0) }),
        ("sys/audit-hash", { _ = try Body.decode(AuditRoutes.HashBody.self, $0) }),
        ("sys/audit/:path", { _ = try Body.decode(AuditDeviceRoutes.EnableBody.self, $0) }),
        ("sys/audit-hash/:path", { _ = try Body.decode(AuditDeviceRoutes.HashBody.self, $0) }),
        ("secret/data/:path", { _ = try Body.decode(KVRoutes.WriteBody.self, $0) }),
        ("secret/delete/:path", { _ = try Body.decode(KVRoutes.VersionsBody.self, $0) }),
        ("secret/config", { _ = try Body.decode(KVRoutes.ConfigBody.self, $0) }),
        ("secret/metadata/:path", { _ = try Body.decode(KVRoutes.MetadataBody.self, $0) }),
        ("sys/mounts/:path", { _ = try Body.decode(MountRoutes.EnableBody.self, $0) }),
        ("sys/mounts/:path/tune", { _ = try Body.decode(MountRoutes.TuneBody.self, $0) }),
        ("sys/wrapping/unwrap", { _ = try Body.decode(WrappingRoutes.TokenBody.self, $0) }),
        ("sys/leases/revoke", { _ = try Body.decode(LeaseRoutes.LeaseBody.self, $0) }),
        ("database/config/:name", { _ = try Body.decode(DatabaseRoutes.ConfigBody.self, $0) }),
        ("database/roles/:name", { _ = try Body.decode(DatabaseRoutes.RoleBody.self, $0) }),
        ("database/static-roles/:name", { _ = try Body.decode(StaticRoleRoutes.StaticRoleBody.self, $0) }),
        ("coffer/rotation/run", { _ = try Body.decode(RotationRoutes.RunBody.self, $0) }),
        ("coffer/models/:name/versions", { _ = try Body.decode(ModelVersionDraft.self, $0) }),
        ("coffer/models/:name/versions/:v/metrics", { _ = try Body.decode(ModelRoutes.CollectBody.self, $0) }),
        ("coffer/models/:name/versions/:v/status", { _ = try Body.decode(ModelRoutes.StatusBody.self, $0) }),
        ("coffer/models/:name/aliases/:alias", { _ = try Body.decode(ModelRoutes.AliasBody.self, $0) }),
        ("coffer/metrics/points", { _ = try Body.decode(MetricRoutes.PointsBody.self, $0) }),
        ("coffer/metrics/retention", { _ = try Body.decode(MetricRoutes.RetentionBody.self, $0) }),
        ("coffer/features/:set", { _ = try Body.decode(FeatureRoutes.SetBody.self, $0) }),
        ("coffer/features/:set/write", { _ = try Body.decode(FeatureRoutes.WriteBody.self, $0) }),
        ("coffer/features/:set/read", { _ = try Body.decode(FeatureRoutes.ReadBody.self, $0) }),
        ("coffer/features/:set/prune", { _ = try Body.decode(FeatureRoutes.PruneBody.self, $0) }),
        ("coffer/errors/events", { _ = try Body.decode(ErrorRoutes.EventsBody.self, $0) }),
        ("coffer/errors/issues/:id", { _ = try Body.decode(ErrorRoutes.ChangeBody.self, $0) }),
        ("coffer/cache/:ns/:key", { _ = try Body.decode(CacheRoutes.PutBody.self, $0) }),
        ("coffer/cache/:ns/warm", { _ = try Body.decode(CacheRoutes.WarmBody.self, $0) }),
        ("coffer/health/maintenance", { _ = try Body.decode(HealthRoutes.MaintenanceBody.self, $0) }),
        ("coffer/alerts/:rule/silence", { _ = try Body.decode(AlertRoutes.SilenceBody.self, $0) }),
        ("coffer/health/checks file", { _ = try HealthChecksFile.parse(Data($0.readableBytesView)) }),
        ("coffer/alerts/rules file", { _ = try AlertRulesFile.parse(Data($0.readableBytesView)) })
    ]

    static let target = FuzzTarget(
        "json-body",
        "request bodies of every route family (first byte picks one of \(bodies.count) body types): decoded or "
            + "refused with a 400 naming the field; and any JSON a secret holds survives its sealed encoding unchanged"
    ) { input throws(FuzzFinding) in
        guard let selector = input.first else { return }
        let body = ByteBuffer(bytes: input.dropFirst())
        let (route, decode) = bodies[Int(selector) % bodies.count]
        do { try decode(body) } catch let error as APIError {
            try require(error.status == .badRequest, "\(route): a body was refused with \(error.status), not 400")
        } catch {
            // The health and alert files throw the suite's own error, which names the file and the rule.
            try require(error is SuiteError, "\(route): a body was refused with \(type(of: error)), which has no status")
        }
        // A secret's data is kept exactly as sent: parse, encode as sealed, parse again.
        if let value = JSONValue.parse(input.dropFirst()) {
            let again = (try? value.encoded()).flatMap { JSONValue.parse($0) }
            try require(again == value, "\(route): JSON does not survive its sealed encoding")
        }
    }
}
