public import CofferAccess
public import CofferCrypto
import CofferFoundation
public import CofferKeys
public import CofferStore
import Foundation

/// Vault's database secrets engine for PostgreSQL: connections, roles, dynamic credentials (a real role
/// with `VALID UNTIL` on the target, under a lease), and the leases' renewal, revocation and reaping.
///
/// Statements are the role's templates with `{{name}}`, `{{password}}` and `{{expiration}}` filled in; the
/// password goes in as a SCRAM verifier (``PostgresTarget/passwordVerifier(_:user:)``), so its cleartext
/// never reaches the target. Revocation terminates the role's sessions and drops it.
public final class DatabaseEngine: Sendable {
    let database: any Database
    let keys: KeyHierarchy
    /// The binding table of sealed admin passwords (for rewrap).
    public static let encryptedTable = EncryptedTable(table: "database_connections", idColumn: "name", versionColumn: nil)
    static let placeholders: Set<String> = ["name", "password", "expiration"]

    public init(database: any Database, keys: KeyHierarchy) {
        self.database = database
        self.keys = keys
        keys.register(Self.authenticatedTables)
    }

    // MARK: connections

    /// Creates or replaces a connection after checking that Coffer can log in with it.
    /// - Throws: ``AccessError`` `.invalidRequest` for an unknown plugin, a missing field, or a failed login.
    public func writeConnection(_ grant: Grant, _ connection: DatabaseConnection, password: String?) async throws {
        try Self.checkName(connection.name, what: "connection")
        guard connection.pluginName == "postgresql-database-plugin" else {
            throw AccessError(.invalidRequest, "plugin_name must be postgresql-database-plugin (the only database Coffer speaks)")
        }
        guard !connection.connectionURL.isEmpty, !connection.username.isEmpty else {
            throw AccessError(.invalidRequest, "connection_url and username are required")
        }
        // The URL is stored as a plain row and answered on reads; a password in it would be too. libpq's own
        // parser decides, so every spelling counts (userinfo, `?password=`, key=value, quoted).
        let parsed: PostgresConnectionString
        do { parsed = try PostgresConnectionString(connection.connectionURL) } catch let error as StoreError {
            throw AccessError(.invalidRequest, "connection_url: \(error.message)")
        }
        guard !parsed.holdsPassword else {
            throw AccessError(
                .invalidRequest,
                "connection_url may not hold a password: write {{username}}:{{password}} in it and send the password as password, "
                    + "which is kept sealed"
            )
        }
        let existing = try await admin(connection.name)?.password
        // create for a new connection, update to change one; decided before Coffer logs in to anything with it.
        try grant.requireWrite(exists: existing != nil)
        // The request's password is copied into guarded memory at once (JSON decoding made the only other copy).
        guard let password = password.map({ SecureHandle(SecureBytes(copying: Array($0.utf8))) }) ?? existing else {
            throw AccessError(.invalidRequest, "password is required for a new connection")
        }
        let (url, user) = (connection.connectionURL, connection.username)
        do {
            try await Blocking.run { try Self.target(url: url, user: user, password: password).execute("SELECT 1") }
        } catch let error as StoreError {
            throw AccessError(.invalidRequest, "cannot verify the connection: \(error.message)")
        }
        let sealer = try keys.sealer()
        let sealed = try sealer.seal(password.bytes, binding: Self.binding(connection.name))
        let roles = String(decoding: try JSONEncoder().encode(connection.allowedRoles), as: UTF8.self)
        let tag = try sealer.tag(Self.authenticated(connection))
        let now = WallClock.now.roundedToStoredPrecision
        try await database.transaction { conn in
            let exists = try conn.queryFirst("SELECT name FROM database_connections WHERE name = \(connection.name)") != nil
            try grant.requireWrite(exists: exists)
            _ = try conn.execute(
                """
                INSERT INTO database_connections (name, plugin_name, connection_url, username, allowed_roles, key_term, sealed,
                    created_at, updated_at,
                                                  auth_term, auth_tag)
                VALUES (\(connection.name), \(connection.pluginName), \(url), \(user), \(roles), \(sealed.term), \(sealed.sealed),
                    \(now), \(now),
                        \(tag.term), \(tag.tag))
                ON CONFLICT (name) DO UPDATE SET plugin_name = excluded.plugin_name, connection_url = excluded.connection_url,
                    username = excluded.username, allowed_roles = excluded.allowed_roles, key_term = excluded.key_term,
                    sealed = excluded.sealed, updated_at = excluded.updated_at, auth_term = excluded.auth_term, auth_tag = excluded.auth_tag
                """)
        }
    }

    public func connection(_ grant: Grant, _ name: String) async throws -> DatabaseConnection {
        guard let found = try await storedConnection(name) else { throw AccessError.missing("database/config/\(name)") }
        return found
    }

    /// Connection `name` as stored (without its password), or `nil`.
    public func storedConnection(_ name: String) async throws -> DatabaseConnection? {
        let sealer = try keys.sealer()
        return try await database.read { conn in
            try conn.query(
                StoredConnection.self, "SELECT \(columns: StoredConnection.Column.self) FROM database_connections WHERE name = \(name)"
            )
            .first?.verified(by: sealer)
        }
    }

    public func connections(_ grant: Grant) async throws -> [String] {
        try await names("SELECT name FROM database_connections ORDER BY name")
    }

    public func deleteConnection(_ grant: Grant, _ name: String) async throws {
        try await database.transaction { conn in _ = try conn.execute("DELETE FROM database_connections WHERE name = \(name)") }
    }

    // MARK: roles

    /// Creates or replaces a role.
    /// - Throws: ``AccessError`` `.invalidRequest` for an unknown placeholder, no creation statement, a TTL
    ///   that is negative or above the maximum, or an unknown connection.
    public func writeRole(_ grant: Grant, _ role: DatabaseRole) async throws {
        try Self.checkName(role.name, what: "role")
        guard !role.creationStatements.isEmpty,
            role.creationStatements.allSatisfy({ !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty })
        else {
            throw AccessError(
                .invalidRequest,
                "creation_statements is required: for instance CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID "
                    + "UNTIL '{{expiration}}'"
            )
        }
        for statement in role.creationStatements + role.revocationStatements {
            if let unknown = Self.unknownPlaceholder(in: statement) {
                throw AccessError(
                    .invalidRequest,
                    "unknown placeholder {{\(unknown)}} in a statement; the known ones are {{name}}, {{password}}, {{expiration}}")
            }
        }
        guard role.defaultTTL >= 0, role.maxTTL >= 0 else {
            throw AccessError(.invalidRequest, "default_ttl and max_ttl cannot be negative")
        }
        guard role.maxTTL == 0 || role.defaultTTL <= role.maxTTL else {
            throw AccessError(.invalidRequest, "default_ttl cannot be above max_ttl")
        }
        let creation = String(decoding: try JSONEncoder().encode(role.creationStatements), as: UTF8.self)
        let revocation = String(decoding: try JSONEncoder().encode(role.revocationStatements), as: UTF8.self)
        let tag = try keys.sealer().tag(Self.authenticated(role))
        let now = WallClock.now.roundedToStoredPrecision
        try await database.transaction { conn in
            guard try conn.queryFirst("SELECT name FROM database_connections WHERE name = \(role.dbName)") != nil else {
                throw AccessError(.invalidRequest, "db_name \(role.dbName) is not a configured connection (database/config/\(role.dbName))")
            }
            try grant.requireWrite(exists: try conn.queryFirst("SELECT name FROM database_roles WHERE name = \(role.name)") != nil)
            _ = try conn.execute(
                """
                INSERT INTO database_roles (name, db_name, creation_statements, revocation_statements, default_ttl, max_ttl,
                    created_at, updated_at,
                                            auth_term, auth_tag)
                VALUES (\(role.name), \(role.dbName), \(creation), \(revocation), \(role.defaultTTL), \(role.maxTTL), \(now), \(now),
                        \(tag.term), \(tag.tag))
                ON CONFLICT (name) DO UPDATE SET db_name = excluded.db_name, creation_statements = excluded.creation_statements,
                    revocation_statements = excluded.revocation_statements, default_ttl = excluded.default_ttl, max_ttl = excluded.max_ttl,
                    updated_at = excluded.updated_at, auth_term = excluded.auth_term, auth_tag = excluded.auth_tag
                """)
        }
    }

    public func role(_ grant: Grant, _ name: String) async throws -> DatabaseRole {
        guard let found = try await storedRole(name) else {
            throw AccessError.missing("database/roles/\(name)")
        }
        return found
    }

    /// The role `name`, authenticated, or `nil`.
    func storedRole(_ name: String) async throws -> DatabaseRole? {
        let sealer = try keys.sealer()
        return try await database.read { conn in
            try conn.query(StoredRole.self, "SELECT \(columns: StoredRole.Column.self) FROM database_roles WHERE name = \(name)").first?
                .verified(by: sealer)
        }
    }

    public func roles(_ grant: Grant) async throws -> [String] {
        try await names("SELECT name FROM database_roles ORDER BY name")
    }

    public func deleteRole(_ grant: Grant, _ name: String) async throws {
        try await database.transaction { conn in _ = try conn.execute("DELETE FROM database_roles WHERE name = \(name)") }
    }

    // MARK: dynamic credentials

    /// Creates a role on the target that expires by itself, and its lease.
    /// - Throws: ``AccessError`` `.notFound` for an unknown role, `.invalidRequest` when the connection does
    ///   not allow the role or the target refuses (nothing is left behind then).
    public func issue(_ grant: Grant, role name: String) async throws -> IssuedCredential {
        let role: DatabaseRole
        do { role = try await self.role(grant, name) } catch AccessError.Code.missing {
            throw AccessError(.invalidRequest, "unknown role: \(name) (see database/roles)")
        }
        guard let (connection, adminPassword) = try await admin(role.dbName) else {
            throw AccessError.missing("database/config/\(role.dbName)")
        }
        guard connection.allows(role: role.name) else {
            throw AccessError(.invalidRequest, "the connection \(connection.name) does not allow the role \(role.name) (allowed_roles)")
        }
        let defaultTTL = role.defaultTTL > 0 ? role.defaultTTL : 3600
        let maxTTL = role.maxTTL > 0 ? role.maxTTL : 86_400
        let now = WallClock.now.roundedToStoredPrecision
        let expires = now.addingTimeInterval(Double(min(defaultTTL, maxTTL)))
        let username = Self.username(display: grant.displayName, role: role.name)
        let password = PasswordGenerator.alphanumeric(length: 32).generate()
        let expiration = Self.expiration(expires)
        let statements = role.creationStatements
        let lease = Lease(
            id: "database/creds/\(role.name)/\(Self.randomID())", roleName: role.name, dbName: connection.name, username: username,
            accessor: grant.accessor, issuedAt: now, renewedAt: nil, expiresAt: expires,
            maxExpiresAt: now.addingTimeInterval(Double(maxTTL)))
        // The lease is recorded before the role exists: a crash between the two leaves a lease whose role is not
        // there (revoking it is a no-op, the reaper clears it at expiry), never a role on the target that no lease
        // knows of and nothing would ever drop.
        let tag = try keys.sealer().tag(Self.authenticated(lease, accessor: grant.accessor))
        try await database.transaction { conn in
            _ = try conn.execute(
                """
                INSERT INTO leases (lease_id, role_name, db_name, username, accessor, issued_at, expires_at, max_expires_at,
                    auth_term, auth_tag)
                VALUES (\(lease.id), \(lease.roleName), \(lease.dbName), \(username), \(grant.accessor), \(now), \(expires),
                    \(lease.maxExpiresAt), \(tag.term), \(tag.tag))
                """)
        }
        do {
            try Failpoints.hit("leases.create.recorded")
            try await Blocking.run {
                let target = try Self.target(url: connection.connectionURL, user: connection.username, password: adminPassword)
                let verifier = try target.passwordVerifier(password, user: username)
                try target.execute("BEGIN")
                do {
                    for statement in statements {
                        try target.execute(Self.render(statement, name: username, password: verifier, expiration: expiration))
                    }
                    try target.execute("COMMIT")
                    // An error after COMMIT: the client's view when the connection drops during it (in doubt).
                    try Failpoints.hit("leases.create.committed")
                } catch {
                    try? target.execute("ROLLBACK")
                    throw error
                }
            }
        } catch {
            // The creation statements ran in one transaction on the target, so usually nothing is left there. But a
            // connection lost during COMMIT leaves its outcome in doubt: the role may exist. So the lease is revoked
            // as any other (the role dropped if it is there, then the lease deleted), not just deleted; if the target
            // cannot be reached now, the lease stays and the reaper revokes it at expiry. Never a role no lease knows.
            try? await revoke(lease)
            if let error = error as? StoreError {
                throw AccessError(.invalidRequest, "cannot create the credential on \(connection.name): \(error.message)")
            }
            throw error
        }
        try Failpoints.hit("leases.create.role")
        grant.auditFact("lease_id", lease.id)
        grant.auditFact("username", username)
        grant.auditSensitive("password", password)
        return IssuedCredential(lease: lease, username: username, password: SecureHandle(SecureBytes(copying: Array(password.utf8))))
    }

    // MARK: leases

    public func lookup(_ grant: Grant, lease id: String) async throws -> Lease {
        let sealer = try keys.sealer()
        guard
            let lease = try await database.read({ conn in
                try conn.query(StoredLease.self, "SELECT \(columns: StoredLease.Column.self) FROM leases WHERE lease_id = \(id)").first?
                    .verified(by: sealer)
            })
        else {
            throw AccessError(.invalidRequest, "invalid lease: no lease \(id) (expired and revoked, or never issued)")
        }
        return lease
    }

    /// Extends the lease (and the role's `VALID UNTIL`) by `increment` seconds from now, or the role's TTL,
    /// never past its max TTL.
    /// - Returns: the lease and a warning when the max TTL capped it.
    /// - Throws: ``AccessError`` `.invalidRequest` for an unknown or expired lease, or one already at its max TTL.
    public func renew(_ grant: Grant, lease id: String, increment: Int64?) async throws -> (Lease, warning: String?) {
        if let increment, increment < 0 { throw AccessError(.invalidRequest, "increment cannot be negative") }
        let lease = try await lookup(grant, lease: id)
        let now = WallClock.now.roundedToStoredPrecision
        guard lease.expiresAt > now else { throw AccessError(.invalidRequest, "lease \(id) has expired; ask for a new credential") }
        guard lease.maxExpiresAt > lease.expiresAt.addingTimeInterval(1) else {
            throw AccessError(
                .invalidRequest,
                "lease \(id) is at its max TTL (\(Self.expiration(lease.maxExpiresAt))) and cannot be renewed; ask for a new credential")
        }
        let role = try? await role(grant, lease.roleName)
        let wanted = now.addingTimeInterval(Double(increment ?? (role.map { $0.defaultTTL > 0 ? $0.defaultTTL : 3600 } ?? 3600)))
        let expires = min(wanted, lease.maxExpiresAt)
        guard let (connection, adminPassword) = try await admin(lease.dbName) else {
            throw AccessError.missing("database/config/\(lease.dbName)")
        }
        let username = lease.username, until = Self.expiration(expires)
        do {
            try await Blocking.run {
                let target = try Self.target(url: connection.connectionURL, user: connection.username, password: adminPassword)
                try target.execute("ALTER ROLE \(try target.identifier(username)) VALID UNTIL \(try target.literal(until))")
            }
        } catch let error as StoreError {
            throw AccessError(.invalidRequest, "cannot renew on \(connection.name): \(error.message)")
        }
        let renewed = Lease(
            id: lease.id, roleName: lease.roleName, dbName: lease.dbName, username: lease.username, accessor: lease.accessor,
            issuedAt: lease.issuedAt, renewedAt: now, expiresAt: expires, maxExpiresAt: lease.maxExpiresAt)
        let tag = try keys.sealer().tag(Self.authenticated(renewed, accessor: lease.accessor))
        try await database.transaction { conn in
            _ = try conn.execute(
                """
                UPDATE leases SET expires_at = \(expires), renewed_at = \(now), auth_term = \(tag.term), auth_tag = \(tag.tag)
                    WHERE lease_id = \(id)
                """)
        }
        return (
            renewed,
            wanted > expires
                ? "TTL of \(Int64(wanted.timeIntervalSince(now))) s exceeded the effective max_ttl; the lease ends at its max TTL" : nil
        )
    }

    /// Revokes the lease: the role's sessions are terminated and the role dropped, then the lease goes.
    /// - Throws: ``AccessError`` `.invalidRequest` for an unknown lease, or when the target refuses (the lease stays, for a retry).
    public func revoke(_ grant: Grant, lease id: String) async throws {
        let lease = try await lookup(grant, lease: id)
        try await revoke(lease)
        grant.auditFact("lease_id", id)
    }

    /// The leases, soonest to expire first (at most `limit`), each with whether its row's tag verifies: a row
    /// changed underneath the service is listed as such (its lookup, renewal and revocation refuse it), neither
    /// hidden nor an error for the whole list.
    public func leases(_ grant: Grant, limit: Int) async throws -> [LeaseListing] {
        let sealer = try keys.sealer()
        return try await database.read { conn in
            try conn.query(
                StoredLease.self,
                "SELECT \(columns: StoredLease.Column.self) FROM leases ORDER BY expires_at, lease_id LIMIT \(Int64(max(1, limit)))"
            ).map { stored in LeaseListing(lease: stored.lease, intact: (try? stored.verified(by: sealer)) != nil) }
        }
    }

    /// Revokes every lease whose id starts with `prefix`.
    /// - Returns: how many were revoked.
    /// The names directly under `prefix` among the leases (Vault's `LIST sys/leases/lookup/<prefix>`): lease IDs'
    /// next segment, sub-prefixes ending in `/`; sorted.
    public func leaseKeys(_ grant: Grant, prefix raw: String) async throws -> [String] {
        let prefix = raw.isEmpty || raw.hasSuffix("/") ? raw : raw + "/"
        let ids = try await database.read { conn in
            try conn.query(
                "SELECT lease_id FROM leases WHERE substr(lease_id, 1, CAST(\(prefix.unicodeScalars.count) AS INTEGER)) = \(prefix)"
            )
            .map { try $0.decode(String.self, at: 0) }
        }
        return ListedKeys.under(prefix, in: ids)
    }

    public func revoke(_ grant: Grant, prefix: String) async throws -> Int {
        guard !prefix.isEmpty else { throw AccessError(.invalidRequest, "a prefix is required, such as database/creds/readonly") }
        let ids = try await database.read { conn in
            try conn.query(
                "SELECT lease_id FROM leases WHERE substr(lease_id, 1, CAST(\(prefix.unicodeScalars.count) AS INTEGER)) = \(prefix)"
            )
            .map { try $0.decode(String.self, at: 0) }
        }
        var revoked = 0
        for id in ids {
            if let lease = try? await lookup(grant, lease: id) {
                try await revoke(lease)
                revoked += 1
            }
        }
        grant.auditFact("revoked", String(revoked))
        return revoked
    }

    /// How long a reaper's claim on an expired lease holds (``reapExpired(_:limit:)``): another instance may
    /// take the lease again only after it, should the claiming one have stopped before revoking it. Short, so a
    /// reaper killed mid-batch delays those leases by seconds; a batch (100 revocations over one connection per
    /// target, about 150 ms here) that takes longer than this may see another instance revoke some of its leases
    /// too (a drop finds no role; custom revocation statements would run twice).
    static let reapClaim: TimeInterval = 10

    /// Revokes up to `limit` expired leases, oldest first; a failure backs that lease off (10 s doubling,
    /// at most an hour) instead of blocking the rest. Bounded, so many expiring leases never stall the service.
    ///
    /// The leases are claimed first, in one statement that moves their next attempt `reapClaim` ahead (on
    /// PostgreSQL skipping rows another reaper has locked): instances reaping at once each take different
    /// leases, so a lease's revocation statements run once, not once per instance.
    /// - Returns: revoked and failed counts.
    public func reapExpired(_ grant: Grant, limit: Int) async throws -> (revoked: Int, failed: Int) {
        let now = WallClock.now.roundedToStoredPrecision
        let claimedUntil = now.addingTimeInterval(Self.reapClaim)
        let sealer = try keys.sealer()
        // A lease that fails authentication is reported and left alone (its username may have been changed to
        // make the reaper drop someone else's role); the others are still reaped.
        let due = try await database.transaction { conn in
            let lock: SQLQuery = conn.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
            return try conn.query(
                StoredLease.self,
                """
                UPDATE leases SET next_attempt_at = \(claimedUntil)
                WHERE lease_id IN (
                    SELECT lease_id FROM leases WHERE expires_at <= \(now) AND (next_attempt_at IS NULL OR next_attempt_at <= \(now))
                    ORDER BY expires_at LIMIT \(Int64(limit))\(lock))
                RETURNING \(columns: StoredLease.Column.self)
                """
            ).compactMap { try? $0.verified(by: sealer) }
        }
        var revoked = 0, failed = 0
        for (dbName, leases) in Dictionary(grouping: due, by: \.dbName) {
            let errors = await revoke(leases: leases, on: dbName)
            failed += errors.compactMap { $0 }.count
            revoked += errors.count - errors.compactMap { $0 }.count
        }
        return (revoked, failed)
    }

    /// Whether any lease has expired and waits for the reaper (one indexed read).
    public func hasExpiredLeases() async throws -> Bool {
        let now = WallClock.now.roundedToStoredPrecision
        return try await database.read { conn in
            try conn.queryFirst(
                "SELECT lease_id FROM leases WHERE expires_at <= \(now) AND (next_attempt_at IS NULL OR next_attempt_at <= \(now)) LIMIT 1")
                != nil
        }
    }

    private func revoke(_ lease: Lease) async throws {
        if let message = await revoke(leases: [lease], on: lease.dbName).first ?? nil {
            throw AccessError(.invalidRequest, "cannot revoke \(lease.id): \(message); it will be retried")
        }
    }

    /// Revokes leases of one connection over one connection to the target: drops each role, deletes the
    /// leases that went in one transaction, and backs off those that did not.
    /// - Returns: per lease, `nil` when revoked, else why not.
    private func revoke(leases: [Lease], on dbName: String) async -> [String?] {
        var errors = [String?](repeating: nil, count: leases.count)
        do {
            let admin = try await admin(dbName)
            var roles: [String: DatabaseRole] = [:]
            for name in Set(leases.map(\.roleName)) {
                roles[name] = try await storedRole(name)
            }
            // A connection that is gone leaves nothing to drop: its leases go too.
            if let (connection, adminPassword) = admin {
                let work = leases.map { (username: $0.username, statements: roles[$0.roleName]?.revocationStatements ?? []) }
                errors = try await Blocking.run {
                    let target = try Self.target(url: connection.connectionURL, user: connection.username, password: adminPassword)
                    return work.map { item -> String? in
                        do {
                            try Self.drop(item.username, statements: item.statements, on: target)
                            return nil
                        } catch {
                            return (error as? StoreError)?.message ?? "\(error)"
                        }
                    }
                }
            }
        } catch {
            let message = (error as? StoreError)?.message ?? "\(error)"
            errors = [String?](repeating: message, count: leases.count)
        }
        // Roles dropped, leases not yet deleted: after a crash here the leases are revoked again, which finds no
        // role and deletes them.
        try? Failpoints.hit("leases.revoke.dropped")
        let done = zip(leases, errors).filter { $0.1 == nil }.map(\.0.id)
        let failed = zip(leases, errors).compactMap { lease, error in error.map { (lease.id, $0) } }
        try? await database.transaction { conn in
            for id in done { _ = try conn.execute("DELETE FROM leases WHERE lease_id = \(id)") }
            for (id, message) in failed {
                let attempts: Int64 = try conn.queryScalar(Int64.self, "SELECT revoke_attempts FROM leases WHERE lease_id = \(id)") ?? 0
                let wait = min(3600, 10 << min(attempts, 12))
                _ = try conn.execute(
                    """
                    UPDATE leases SET revoke_attempts = revoke_attempts + 1, revoke_error = \(message),
                        next_attempt_at = \(WallClock.now.addingTimeInterval(Double(wait)).roundedToStoredPrecision)
                    WHERE lease_id = \(id)
                    """)
            }
        }
        return errors
    }

    /// Terminates the role's sessions, drops what it owns and the role (or runs the role's own revocation
    /// statements). A role that is not there is already revoked.
    private static func drop(_ username: String, statements: [String], on target: PostgresTarget) throws {
        let name = try target.literal(username)
        guard try target.count("SELECT 1 FROM pg_roles WHERE rolname = \(name)") > 0 else { return }
        if statements.isEmpty {
            _ = try target.count("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = \(name)")
            try target.execute("DROP OWNED BY \(try target.identifier(username))")
            try target.execute("DROP ROLE IF EXISTS \(try target.identifier(username))")
        } else {
            for statement in statements { try target.execute(render(statement, name: username, password: "", expiration: "")) }
        }
    }

    /// A connection's URL, admin user and password, for a rotator (a static role's); `nil` when there is no
    /// such connection.
    public func adminConnection(_ name: String) async throws -> AdminConnection? {
        try await admin(name).map { AdminConnection(connection: $0.connection, password: $0.password) }
    }

    // MARK: rows and helpers

    /// A connection and its admin password, opened, from one read of its row; `nil` when there is none.
    /// The connection is authenticated before its password is opened: a URL or user changed in the database
    /// never receives the admin password.
    private func admin(_ name: String) async throws -> (connection: DatabaseConnection, password: SecureHandle)? {
        let sealer = try keys.sealer()
        guard
            let (connection, encrypted) = try await database.read({ conn -> (DatabaseConnection, EncryptedValue)? in
                try conn.query(
                    StoredConnection.self, "SELECT \(columns: StoredConnection.Column.self) FROM database_connections WHERE name = \(name)"
                ).first.map { (try $0.verified(by: sealer), $0.password) }
            })
        else { return nil }
        return (connection, SecureHandle(try sealer.open(encrypted, binding: Self.binding(name))))
    }

    private func names(_ query: SQLQuery) async throws -> [String] {
        try await database.read { conn in try conn.query(query).map { try $0.decode(String.self, at: 0) } }
    }

    /// A connection to the target as the admin, the password read from guarded memory in place.
    public static func target(url: String, user: String?, password: SecureHandle?) throws -> PostgresTarget {
        guard let password else { return try PostgresTarget(url: url, user: user, passwordBytes: nil) }
        return try password.bytes.withUnsafeBytes { try PostgresTarget(url: url, user: user, passwordBytes: $0) }
    }

    static func binding(_ name: String) -> RecordBinding { RecordBinding(table: "database_connections", id: name, version: 0) }

    static func checkName(_ name: String, what: String) throws {
        guard !name.isEmpty, name.utf8.count <= 128, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
        else {
            throw AccessError(.invalidRequest, "a \(what) name is 1 to 128 letters, digits, '-', '_' or '.'")
        }
    }

    static func unknownPlaceholder(in statement: String) -> String? {
        var rest = Substring(statement)
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else { return String(rest[open.upperBound...].prefix(20)) }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if !placeholders.contains(name) { return name }
            rest = rest[close.upperBound...]
        }
        return nil
    }

    static func render(_ statement: String, name: String, password: String, expiration: String) -> String {
        statement.replacingOccurrences(of: "{{name}}", with: name).replacingOccurrences(of: "{{password}}", with: password)
            .replacingOccurrences(of: "{{expiration}}", with: expiration)
    }

    /// Vault's shape: `v-<display>-<role>-<random>-<unix time>`, at most 63 characters (PostgreSQL's limit).
    static func username(display: String, role: String) -> String {
        func part(_ text: String, _ count: Int) -> String {
            String(text.lowercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber) }.prefix(count))
        }
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        let random = String((0..<20).map { _ in alphabet[Int(Random.uniform(UInt32(alphabet.count)))] })
        return String("v-\(part(display, 8))-\(part(role, 8))-\(random)-\(Int64(WallClock.now.timeIntervalSince1970))".prefix(63))
    }

    static func randomID() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<24).map { _ in alphabet[Int(Random.uniform(UInt32(alphabet.count)))] })
    }

    static func expiration(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    /// Where Coffer connects and as whom, and which roles it serves: a changed URL would send the admin password
    /// elsewhere, so the tag is checked before the password is opened.
    static func authenticated(_ connection: DatabaseConnection) -> AuthenticatedRow {
        var row = AuthenticatedRow("database_connections", key: connection.name)
        row.add("plugin_name", connection.pluginName)
        row.add("connection_url", connection.connectionURL)
        row.add("username", connection.username)
        row.add("allowed_roles", connection.allowedRoles)
        return row
    }

    /// The statements Coffer runs as the admin on the target, and the TTLs.
    static func authenticated(_ role: DatabaseRole) -> AuthenticatedRow {
        var row = AuthenticatedRow("database_roles", key: role.name)
        row.add("db_name", role.dbName)
        row.add("creation_statements", role.creationStatements)
        row.add("revocation_statements", role.revocationStatements)
        row.add("default_ttl", role.defaultTTL)
        row.add("max_ttl", role.maxTTL)
        return row
    }

    /// Which role on which target a lease drops, whose it is, and until when it lives.
    static func authenticated(_ lease: Lease, accessor: String) -> AuthenticatedRow {
        var row = AuthenticatedRow("leases", key: lease.id)
        row.add("role_name", lease.roleName)
        row.add("db_name", lease.dbName)
        row.add("username", lease.username)
        row.add("accessor", accessor)
        row.add("issued_at", lease.issuedAt)
        row.add("renewed_at", lease.renewedAt)
        row.add("expires_at", lease.expiresAt)
        row.add("max_expires_at", lease.maxExpiresAt)
        return row
    }

    /// The tables as ``KeyHierarchy`` sees them.
    public static let authenticatedTables = [
        AuthenticatedTable(StoredConnection.self, table: "database_connections", key: [.name]),
        AuthenticatedTable(StoredRole.self, table: "database_roles", key: [.name]),
        AuthenticatedTable(StoredLease.self, table: "leases", key: [.id])
    ]
}
