import CofferCrypto
import CofferFoundation
public import CofferKeys
public import CofferStore
import Foundation
public import Logging

/// The Gate: the one code path every request and every module operation goes through. It authenticates
/// the token, authorises the operation against the token's policies (most specific rule, deny wins),
/// writes the request's audit entries, runs the operation with a ``Grant``, and returns its result only
/// once the response's audit entry is committed.
///
/// ```swift
/// let value = try await gate.perform(request) { grant in
///     try await credentials.read(grant, path: "app/db")
/// }
/// ```
public final class Gate: Sendable {
    package let database: any Database
    package let keys: KeyHierarchy
    package let audit: AuditLog
    package let policies: PolicyStore
    package let tokens: TokenService
    public let appRole: AppRoleService
    /// Vault's audit devices (`sys/audit`), written beside the trail.
    public let devices: AuditDevices
    /// Token roles (`auth/token/roles/*`).
    public let tokenRoles: TokenRoleStore
    /// The auth methods enabled at paths under `auth/` (`sys/auth`).
    public let authMounts: AuthMountStore
    /// Response wrapping (`X-Vault-Wrap-TTL`, `sys/wrapping/*`).
    public let wrapping: ResponseWrapping
    /// The free space kept for reads, when the database is on this host's disk.
    public let storageFloor: StorageFloor?
    /// Identities read on this instance, used while the revocation epoch stays where it was.
    let identities = IdentityCache()
    let logger: Logger

    public init(
        database: any Database, keys: KeyHierarchy, audit: AuditConfiguration = .init(), storageFloor: StorageFloor? = nil,
        logger: Logger
    ) {
        self.database = database
        self.storageFloor = storageFloor
        self.keys = keys
        self.logger = logger
        self.policies = PolicyStore(database: database, keys: keys)
        self.audit = AuditLog(
            database: database, configuration: audit, logger: logger,
            signer: { try? keys.auditSigner() }, sealer: { try? keys.sealer() })
        let tokens = TokenService(store: TokenStore(database: database, keys: keys), keys: keys)
        self.tokens = tokens
        self.appRole = AppRoleService(database: database, keys: keys, tokens: tokens)
        self.authMounts = AuthMountStore(database: database)
        self.tokenRoles = TokenRoleStore(database: database, keys: keys)
        self.devices = AuditDevices(database: database, keys: keys, limits: audit.deviceLimits, logger: logger)
        self.wrapping = ResponseWrapping(database: database, tokens: tokens)
        keys.register(Self.authenticatedTables)
    }

    /// The tables of the Gate's stores whose rows carry authentication tags.
    public static let authenticatedTables =
        [
            TokenStore.authenticatedTable, PolicyStore.authenticatedTable,
            TokenRoleStore.authenticatedTable, ResponseWrapping.authenticatedTable,
            AuditLog.authenticatedTable
        ] + AppRoleService.authenticatedTables

    /// The identity and ACL behind a token, read in one snapshot.
    struct Identity: Sendable {
        let entry: TokenEntry
        let acl: ACL
    }

    /// Runs `body` for `request` if the token may, with the request and response audited.
    ///
    /// - Parameters:
    ///   - status: the status a result or an error will be answered with (the caller's mapping), for the audit entry.
    /// - Throws: ``AccessError`` `.permissionDenied` (no, bad, expired or used-up token, or no policy allows it),
    ///   `.auditUnavailable` (the audit entry was not committed in time: the result is withheld), ``KeysError``
    ///   `.sealed`, or whatever `body` throws.
    public func perform<R: Sendable>(
        _ request: GateRequest, status: (Result<R, any Error>) -> Int,
        _ body: (Grant) async throws -> R
    ) async throws -> R {
        let started = ContinuousClock.now
        let now = WallClock.now
        // A change is never made unless its request entry is durable first. A read or a list has none: its
        // response entry carries the request's fields too, and the answer is held until it commits, which is
        // all a request entry committed first would add (a read that never answers disclosed nothing).
        let isChange = request.operation != .read && request.operation != .list
        var grant: Grant
        do {
            grant = try await authorise(request, provisional: !isChange && request.epochCheck == .inModule)
        } catch let caught {
            throw try await refuse(request, caught, started: started, status: status)
        }
        let decision = request.access == .open ? "open" : "allow"
        // Under the free-space floor a change is refused before anything is written, its response entry its only
        // one (as a denial's), so the space left goes to reads and their entries.
        let lowOnSpace = isChange ? storageFloor?.refusal(of: request) : nil
        var record: RequestRecord?
        if isChange && lowOnSpace == nil {
            let requestEntry = entry(
                .request, request, now: now, accessor: grant.accessor, name: grant.displayName, policies: grant.policies,
                decision: decision, rule: grant.rule, status: 0, extra: [])
            if request.requestEntry == .withChange {
                // Committed with the change (Grant.transaction), in the trail's group commit: one commit fewer.
                record = RequestRecord(audit: audit, entry: requestEntry)
                audit.expectResponse(of: request.requestID)
            } else {
                try await audit.append(requestEntry)
            }
        } else if !isChange {
            audit.expectResponse(of: request.requestID)
        }
        var result: Result<R, any Error>
        if let lowOnSpace {
            result = .failure(lowOnSpace)
        } else {
            do { result = .success(try await body(grant.recording(record))) } catch { result = .failure(error) }
        }
        if let provisional = grant.provisional, await isStale(provisional, result) {
            // The token's identity came from the cache and the epoch has moved since: decided again on the token
            // as stored (refused, if it was revoked), and run again; the first run's result is dropped unseen.
            do {
                grant = try await authorise(request, provisional: false)
            } catch let caught {
                throw try await refuse(request, caught, started: started, status: status)
            }
            do { result = .success(try await body(grant)) } catch { result = .failure(error) }
        }
        // The operation ended without a recorded change (refused before it, say): its entry still goes first.
        if let late = record?.take() {
            if case .success = result {
                // A route said its module records the change, but it made none that way: a bug to fix there.
                logger.warning(
                    "a change declared as recorded with its entry made no recorded transaction",
                    metadata: ["coffer.path": "\(request.path.text)"])
            }
            do { try await audit.append(late) } catch { result = .failure(error) }
        }
        var extra: [(String, String)] = [("latency_us", latency(since: started))]
        extra += await hashedNotes(grant)
        if case .failure(let error) = result { extra.append(("error", "\(error)")) }
        if case .failure(let error) = result { await recordTampering(error, request) }
        let code = status(result)
        try await audit.append(
            entry(
                .response, request, now: WallClock.now, accessor: grant.accessor, name: grant.displayName, policies: grant.policies,
                decision: decision, rule: grant.rule, status: code, extra: extra))
        devices.emit(
            AuditDevices.Event(
                requestID: request.requestID, operation: request.operation.rawValue, path: request.path.text,
                remoteAddress: request.remoteAddress, token: request.token, accessor: grant.accessor,
                displayName: grant.displayName, policies: grant.policies, metadata: grant.token?.meta, status: code,
                error: result.failureDescription, notes: grant.notes.all))
        return try result.get()
    }

    /// Audits a request refused before anything ran (nothing changed, so its response entry is its only one)
    /// and returns the error to answer it with.
    private func refuse<R>(
        _ request: GateRequest, _ caught: any Error, started: ContinuousClock.Instant, status: (Result<R, any Error>) -> Int
    ) async throws -> any Error {
        let error = caught is GateDenial ? AccessError.permissionDenied() : caught
        await recordTampering(error, request)
        let code = status(.failure(error))
        let decision = AccessError.Code.permissionDenied ~= error ? "deny" : "error"
        // A token that was refused is not named (it may not exist); a service identity always is.
        let who = request.access.service?.auditName ?? ""
        try await audit.append(
            entry(
                .response, request, now: WallClock.now, accessor: who, name: who, policies: [], decision: decision,
                rule: ruleText(caught), status: code, extra: [("latency_us", latency(since: started)), ("error", "\(error)")]))
        devices.emit(
            AuditDevices.Event(
                requestID: request.requestID, operation: request.operation.rawValue, path: request.path.text,
                remoteAddress: request.remoteAddress, token: request.token, accessor: who, displayName: who,
                policies: [], metadata: nil, status: code, error: "\(error)", notes: []))
        return error
    }

    /// Whether an operation run on a cached identity must run again: its module found the epoch moved, or did
    /// not confirm it and the epoch read now differs (or cannot be read).
    private func isStale<R>(_ provisional: ProvisionalIdentity, _ result: Result<R, any Error>) async -> Bool {
        if case .failure(let error) = result, error is StaleIdentity { return true }
        if provisional.isConfirmed { return false }
        let epoch = try? await database.read { conn in try Grant.epoch(on: conn) }
        return epoch != provisional.epoch
    }

    /// Authenticates and authorises, without auditing (``perform(_:status:_:)`` audits).
    /// - Parameter provisional: a token this instance keeps may be used without reading the revocation epoch;
    ///   the grant then carries what the epoch must be (``GateRequest/EpochCheck/inModule``).
    func authorise(_ request: GateRequest, provisional: Bool = false) async throws -> Grant {
        if request.access == .open {
            return Grant(
                accessor: "", displayName: "anonymous", policies: [], token: nil, path: request.path, operation: request.operation,
                capabilities: [], requestID: request.requestID, remoteAddress: request.remoteAddress, acl: ACL(policies: []),
                rule: "open path")
        }
        if case .service(let service) = request.access {
            let (capabilities, rule) = try decide(service.acl, request, needing: request.extraCapabilities)
            return Grant(
                accessor: service.auditName, displayName: service.auditName, policies: ["service-" + service.name], token: nil,
                path: request.path, operation: request.operation, capabilities: capabilities, requestID: request.requestID,
                remoteAddress: request.remoteAddress, acl: service.acl, rule: rule)
        }
        let (identity, unchecked) = try await identify(request.token, provisional: provisional)
        let capabilities: Capabilities, rule: String
        do {
            if !identity.entry.boundCIDRs.isEmpty {
                // A token bound to addresses is refused elsewhere, as if it did not exist.
                let blocks = try identity.entry.boundCIDRs.map(CIDR.init)
                guard blocks.allows(request.remoteAddress) else { throw AccessError.permissionDenied() }
            }
            var needed = request.extraCapabilities
            if case .token(sudo: true) = request.access { needed.insert(.sudo) }
            (capabilities, rule) = try decide(identity.acl, request, needing: needed)
        } catch {
            // Refused on an identity whose epoch is unchecked: a policy widened since would be missed, so the
            // refusal is decided again on the token as stored.
            guard unchecked != nil else { throw error }
            return try await authorise(request, provisional: false)
        }
        if identity.entry.numUses > 0, try await !tokens.store.spendUse(accessor: identity.entry.accessor) {
            throw AccessError.permissionDenied()
        }
        var grant = Grant(
            accessor: identity.entry.accessor, displayName: identity.entry.displayName, policies: identity.entry.policies,
            token: identity.entry, path: request.path, operation: request.operation, capabilities: capabilities,
            requestID: request.requestID, remoteAddress: request.remoteAddress, acl: identity.acl,
            rule: rule)
        grant.provisional = unchecked
        return grant
    }

    /// What `acl` allows on the request's path (most specific rule, deny wins), or a denial naming the rule
    /// that decided: the operation needs one of its capabilities, and `needed` (sudo, Coffer's own) all.
    private func decide(_ acl: ACL, _ request: GateRequest, needing needed: Capabilities) throws -> (Capabilities, rule: String) {
        let decision = acl.check(request.operation.capabilities, on: request.path.text, listing: request.operation == .list)
        let capabilities = decision.pattern == nil ? [] : decision.capabilities
        guard !capabilities.contains(.deny), !capabilities.isDisjoint(with: request.operation.capabilities),
            capabilities.isSuperset(of: needed)
        else {
            throw GateDenial(rule: decision.description)
        }
        return (capabilities, decision.description)
    }

    /// Another token's capabilities on `paths` (Vault's `sys/capabilities`, by token or by accessor), read with
    /// the same policies the Gate would use for it. The caller's own right to ask was decided on the route.
    /// - Throws: ``AccessError`` `.invalidRequest` for an unknown or expired token or accessor.
    public func capabilities(token: String? = nil, accessor: String? = nil, on paths: [String]) async throws -> [String: [String]] {
        let entry: TokenEntry?
        if let token {
            entry = try? await identify(token).0.entry
        } else if let accessor {
            entry = try await tokens.lookup(grantless: accessor)
        } else {
            entry = nil
        }
        guard let entry else { throw AccessError(.invalidRequest, token != nil ? "invalid token" : "invalid accessor") }
        let policies = policies
        let sealer = try keys.sealer()
        let texts = try await database.read { conn in try PolicyStore.texts(of: entry.policies, sealer: sealer, on: conn) }
        let acl = policies.acl(names: entry.policies, texts: texts)
        var answer: [String: [String]] = [:]
        for path in paths { answer[path] = entry.isRoot ? [Policy.rootName] : acl.capabilityNames(on: path) }
        return answer
    }

    /// Whether `token` is a live token whose policies allow `capability` on `path` (a check inside an open route:
    /// Vault's unwrap by a wrapping token in the body still needs a client token that may unwrap). Spends no use.
    public func allows(token: String?, _ capability: Capabilities, on path: String) async -> Bool {
        guard let (identity, _) = try? await identify(token) else { return false }
        return identity.entry.isRoot || identity.acl.check(capability, on: path).allowed
    }

    /// Whether `token` may use anything under `prefix` (a mount's `secret/`), for answers Vault gives only to
    /// such a caller without a policy of their own (the mount preflight). A missing or bad token may not.
    /// Spends no use of a token with limited uses: it is a question about the token, not a use of it.
    public func hasAccess(token: String?, under prefix: String) async -> Bool {
        guard let (identity, _) = try? await identify(token) else { return false }
        return identity.acl.hasAnyAccess(under: prefix)
    }

    /// The token's entry and ACL, or Vault's "permission denied" for a missing, malformed, unknown or expired token.
    func identify(_ token: String?, provisional: Bool = false) async throws -> (Identity, ProvisionalIdentity?) {
        guard let token, TokenFormat.isWellFormed(token) else { throw AccessError.permissionDenied() }
        let hash = try tokens.hash(token)
        let sealer = try keys.sealer()
        let (policies, identities) = (policies, identities)
        let now = WallClock.now
        if provisional, let (kept, epoch) = identities.kept(for: hash), !kept.entry.isExpired(at: now) {
            return (kept, ProvisionalIdentity(epoch: epoch))
        }
        // The revocation epoch first, then (unless this instance holds the token under that epoch) the token
        // and its policies: a revocation that commits after the epoch was read is then seen by the token's
        // read, and one that commits after that moves the epoch the next request reads (IdentityCache).
        enum Found: Sendable {
            case kept(Identity)
            case read(TokenEntry, [(String, String)], epoch: Int64?)
            case none
        }
        let found = try await database.read { conn -> Found in
            let epoch = try Grant.epoch(on: conn)
            if let epoch, let kept = identities.identity(for: hash, at: epoch), !kept.entry.isExpired(at: now) { return .kept(kept) }
            guard let entry = try TokenStore.lookup(hash: hash, sealer: sealer, on: conn) else { return .none }
            return .read(entry, try PolicyStore.texts(of: entry.policies, sealer: sealer, on: conn), epoch: epoch)
        }
        switch found {
        case .kept(let identity):
            return (identity, nil)
        case .read(let entry, let texts, let epoch):
            guard !entry.isExpired(at: now) else { throw AccessError.permissionDenied() }
            let identity = Identity(entry: entry, acl: policies.acl(names: entry.policies, texts: texts))
            // No epoch row (a database writer deleted it): nothing is kept, every request reads the token.
            if let epoch { identities.keep(identity, for: hash, at: epoch) }
            return (identity, nil)
        case .none:
            break
        }
        if token.hasPrefix(TokenFormat.rootPrefix) {
            // The initial root token's first use moves it into `tokens`; a request racing with that first
            // use finds it there once the other has done it.
            var adopted = try await tokens.store.adoptInitialRootToken(hash: hash, now: now)
            if adopted == nil { adopted = try await tokens.store.lookup(hash: hash) }
            if let entry = adopted, !entry.isExpired(at: now) {
                return (Identity(entry: entry, acl: policies.acl(names: entry.policies, texts: [])), nil)
            }
        }
        throw AccessError.permissionDenied()
    }

    /// A stored row that failed authentication is an audit `event` of its own (besides the response entry's
    /// error), so that the security team finds every refusal by one query (`operation = 'integrity'`).
    private func recordTampering(_ error: any Error, _ request: GateRequest) async {
        guard KeysError.Code.tampered ~= error else { return }
        try? await audit.append(
            AuditEntry(
                kind: .event, time: WallClock.now.roundedToStoredPrecision, requestID: request.requestID, accessor: "",
                displayName: "coffer", path: request.path.text, operation: "integrity", decision: "refused", status: 0,
                extra: [("error", "\(error)")]))
    }

    /// `hmac:` hashes of the sensitive values a request recorded, plain facts as they are.
    private func hashedNotes(_ grant: Grant) async -> [(String, String)] {
        let notes = grant.notes.all
        guard !notes.isEmpty else { return [] }
        let hasher = (try? keys.systemKey(.auditHMAC)).map(AuditHasher.init)
        return notes.map { note in
            guard note.sensitive else { return (note.key, note.value) }
            // Sealed at this moment (a `sys/seal` that just ran): the value is left out, never written plain.
            if let secret = note.secret { return (note.key, hasher.flatMap { try? $0.hash(secret: secret.bytes) } ?? "withheld:sealed") }
            return (note.key, hasher.flatMap { try? $0.hash(note.value) } ?? "withheld:sealed")
        }
    }

    /// Records a step of the operation `grant` authorises (a rotation step), durably, before the step's
    /// effect is relied on: an `event` entry with the grant's identity and `fields` (never secret values).
    /// - Throws: ``AccessError`` `.auditUnavailable` when it is not committed in time.
    public func recordEvent(_ grant: Grant, path: String, operation: String, fields: [(String, String)]) async throws {
        var extra: [(String, String)] = [("policies", grant.policies.joined(separator: ","))]
        extra += fields
        try await audit.append(
            AuditEntry(
                kind: .event, time: WallClock.now.roundedToStoredPrecision, requestID: grant.requestID, accessor: grant.accessor,
                displayName: grant.displayName, path: path, operation: operation, decision: "allow", status: 0, extra: extra))
    }

    /// `hmac:` + keyed BLAKE2b of `value` under the audit key, as the trail records it (`coffer audit hash`).
    public func auditHash(_ value: String) async throws -> String {
        try AuditHasher(key: try keys.systemKey(.auditHMAC)).hash(value)
    }

    /// The keyring's sealer (the audit verifier checks entry tags with it).
    /// - Throws: ``KeysError`` `.sealed`.
    public func sealer() throws -> Sealer { try keys.sealer() }

    /// The public key that verifies the trail's checkpoints.
    public func auditPublicKey() async throws -> [UInt8] {
        try keys.auditSigner().key.publicKey
    }

    private func entry(
        _ kind: AuditEntry.Kind, _ request: GateRequest, now: Date, accessor: String, name: String, policies: [String],
        decision: String, rule: String, status: Int, extra: [(String, String)]
    ) -> AuditEntry {
        var fields: [(String, String)] = [("policies", policies.joined(separator: ","))]
        if !rule.isEmpty { fields.append(("rule", rule)) }
        fields.append(("remote_address", request.remoteAddress))
        return AuditEntry(
            kind: kind, time: now.roundedToStoredPrecision, requestID: request.requestID, accessor: accessor, displayName: name,
            path: request.path.text, operation: request.operation.rawValue, decision: decision, status: status, extra: fields + extra)
    }

    private func ruleText(_ error: any Error) -> String {
        (error as? GateDenial)?.rule ?? ""
    }

    private func latency(since start: ContinuousClock.Instant) -> String {
        let elapsed = ContinuousClock.now - start
        return String(elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000)
    }
}

extension Result {
    /// The error's description, for an audit line; `nil` on success.
    var failureDescription: String? {
        if case .failure(let error) = self { "\(error)" } else { nil }
    }
}

/// A policy refusal, with the rule that decided (for the audit entry; the client sees only "permission denied").
struct GateDenial: Error, CustomStringConvertible {
    let rule: String
    var description: String { "permission denied" }
}
