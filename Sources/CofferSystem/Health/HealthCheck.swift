public import CofferAccess
import CofferFoundation
import CofferHTTP
public import CofferKeys
public import CofferStore
import Foundation
public import Hummingbird

/// Whether the key hierarchy is initialised and unsealed, as health and seal-status report it.
public struct SealState: Sendable, Equatable {
    public var initialized: Bool
    public var sealed: Bool

    public init(initialized: Bool, sealed: Bool) {
        self.initialized = initialized
        self.sealed = sealed
    }
}

/// Builds the `/v1/sys/health` answer: Vault's fields and status codes, plus the state of storage.
public struct HealthCheck: Sendable {
    let database: any Database
    let identity: InstanceIdentity
    let knownMigrations: Int
    let sealState: @Sendable () async -> SealState
    let auditHealth: @Sendable () async -> AuditLog.Health
    let integrity: RowIntegrity?

    /// - Parameters:
    ///   - knownMigrations: how many migrations this binary ships; the schema is current when the
    ///     database has exactly these applied.
    ///   - sealState: the key hierarchy's state, asked on every health request.
    ///   - auditHealth: whether audit entries are being committed; a failing trail makes health 503.
    public init(
        database: any Database, identity: InstanceIdentity, knownMigrations: Int,
        sealState: @escaping @Sendable () async -> SealState,
        auditHealth: @escaping @Sendable () async -> AuditLog.Health = { .ok }, integrity: RowIntegrity? = nil
    ) {
        self.auditHealth = auditHealth
        self.integrity = integrity
        self.database = database
        self.identity = identity
        self.knownMigrations = knownMigrations
        self.sealState = sealState
    }

    /// The JSON body, Vault's field names.
    public struct Report: Encodable, Sendable {
        public let initialized: Bool
        public let sealed: Bool
        public let standby: Bool
        public let performance_standby: Bool
        public let replication_performance_mode: String
        public let replication_dr_mode: String
        public let server_time_utc: Int
        public let version: String
        public let cluster_name: String
        public let cluster_id: String
        public let storage: Storage
        public let audit: Audit
        public let integrity: Integrity
    }

    /// Coffer's addition: stored rows refused since this process started because they failed authentication
    /// (changed in the database outside Coffer). Each refusal is also an audit `event`.
    public struct Integrity: Encodable, Sendable {
        public let ok: Bool
        public let refused_rows: Int
        /// `table/key` of the latest refused row (never a value).
        public let latest: String?
        public let latest_time: String?
    }

    /// Coffer's addition: whether the audit trail is taking entries (requests fail with 503 while it is not).
    public struct Audit: Encodable, Sendable {
        public let ok: Bool
        public let error: String?
    }

    /// Coffer's addition: the backend, whether it answers, and whether its schema matches this binary.
    public struct Storage: Encodable, Sendable {
        public let backend: String
        public let reachable: Bool
        public let schema_version: Int
        public let migrations_known: Int
        public let migrations_current: Bool
        public let error: String?
    }

    /// Status codes chosen by the query parameters Vault accepts (`?sealedcode=200`, ...).
    public struct Codes: Sendable {
        var active = 200
        var sealed = 503
        var uninitialized = 501

        /// Vault's defaults: 200 active, 503 sealed, 501 not initialised.
        public init() {}

        /// Reads Vault's code parameters; a value that is not a final HTTP status (200 to 599) is a 400.
        /// Vault takes any integer, but a 1xx is not a final answer: the client waits for one that never comes
        /// and, on a kept-alive connection, reads the bytes that follow as the next request's answer (found by
        /// `make fuzz-api`: `?activecode=100` hung the client, and its next request on the connection).
        public init(query: [String: String]) throws {
            func code(_ name: String) throws -> Int? {
                guard let text = query[name] else { return nil }
                guard let value = Int(text), (200...599).contains(value) else {
                    throw APIError(.badRequest, "\(name) must be an HTTP status code from 200 to 599, got \"\(text)\"")
                }
                return value
            }
            active = try code("activecode") ?? active
            sealed = try code("sealedcode") ?? sealed
            uninitialized = try code("uninitcode") ?? uninitialized
            // Accepted for Vault compatibility; Coffer has no standbys or replication secondaries.
            for name in ["standbycode", "performancestandbycode", "drsecondarycode", "removedcode"] { _ = try code(name) }
        }
    }

    /// Asks storage and the seal, and picks the status code.
    public func report(codes: Codes) async -> (HTTPResponse.Status, Report) {
        let knownMigrations = knownMigrations
        var storageError: String?
        var schemaVersion = 0
        do {
            schemaVersion = try await database.read { connection in
                try connection.queryScalar(Int.self, "SELECT coalesce(max(number), 0) FROM schema_migrations") ?? 0
            }
        } catch let error as StoreError {
            storageError = error.message
        } catch {
            storageError = "storage check failed"
        }
        let storage = Storage(
            backend: database.backendDescription, reachable: storageError == nil, schema_version: schemaVersion,
            migrations_known: knownMigrations, migrations_current: storageError == nil && schemaVersion == knownMigrations,
            error: storageError ?? (schemaVersion > knownMigrations ? "the database schema is newer than this binary" : nil)
        )
        let seal = await sealState()
        let audit: Audit =
            switch await auditHealth() {
            case .ok: Audit(ok: true, error: nil)
            case .failing(let reason): Audit(ok: false, error: reason)
            }
        let status: Int
        if !storage.migrations_current || !audit.ok {
            status = 503 // no request can be served correctly: report unavailable whatever the seal says
        } else if !seal.initialized {
            status = codes.uninitialized
        } else if seal.sealed {
            status = codes.sealed
        } else {
            status = codes.active
        }
        let report = Report(
            initialized: seal.initialized, sealed: seal.sealed, standby: false, performance_standby: false,
            replication_performance_mode: "disabled", replication_dr_mode: "disabled",
            server_time_utc: Int(WallClock.now.timeIntervalSince1970), version: CofferVersion.current,
            cluster_name: identity.clusterName, cluster_id: identity.clusterID, storage: storage, audit: audit,
            integrity: integrityReport()
        )
        return (HTTPResponse.Status(code: status), report)
    }

    private func integrityReport() -> Integrity {
        let (count, latest) = integrity?.failures ?? (0, nil)
        return Integrity(
            ok: count == 0, refused_rows: count, latest: latest.map { "\($0.table)/\($0.key)" },
            latest_time: latest.map { ISO8601DateFormatter().string(from: $0.time) })
    }
}
