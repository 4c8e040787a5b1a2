import CofferFoundation
public import CofferCrypto
public import CofferStore
import Foundation

/// What a request asks of the Gate: the operation on a path, by whom.
public struct GateRequest: Sendable {
    /// The operation, Vault's names. `update` is a write to a path with no notion of existence (Vault's rule
    /// for a backend without an existence check: the `create` capability alone never suffices). `write` is
    /// create-or-update for paths whose module decides by existence, in the same transaction as the write
    /// (`create` for something new, `update` to change what exists), as Vault's existence checks do.
    public enum Operation: String, Sendable {
        case read, list, write, update, patch, delete
        /// Coffer's: run a credential rotation (the `rotate` capability).
        case rotate

        /// Capabilities any one of which lets the operation through the Gate.
        public var capabilities: Capabilities {
            switch self {
            case .read: .read
            case .list: .list
            case .write: [.create, .update]
            case .update: .update
            case .patch: .patch
            case .delete: .delete
            case .rotate: .rotate
            }
        }
    }

    /// Who is asking. A token for every HTTP route but the few Vault also leaves open; Coffer's own
    /// background work asks as a ``ServiceIdentity``, decided by that identity's policy.
    public enum Access: Sendable, Equatable {
        case token(sudo: Bool)
        case open
        case service(ServiceIdentity)

        /// The service identity asking, if it is one.
        public var service: ServiceIdentity? {
            if case .service(let identity) = self { identity } else { nil }
        }
    }

    public var token: String?
    /// The path the request is decided on, decoded once (``CanonicalPath``): the same bytes the policy is
    /// matched against, the audit entry names, and the module acts on.
    public var path: CanonicalPath
    public var operation: Operation
    public var access: Access
    public var requestID: String
    public var remoteAddress: String
    /// When a change's request entry commits.
    public enum RequestEntry: Sendable, Equatable {
        /// Before the operation runs, in a commit of its own.
        case first
        /// In the transaction of the change itself (``Grant/transaction(on:_:)``): the change and its record
        /// commit together or not at all. Only for routes whose module makes its change that way; should the
        /// operation end without one, the entry commits just before the response's.
        case withChange
    }

    /// Where a read with a token this instance keeps (IdentityCache) checks the revocation epoch.
    public enum EpochCheck: Sendable, Equatable {
        /// Read by the Gate before the operation runs, as for every change.
        case beforeOperation
        /// Read by the module in its own first statement (``Grant/epochColumn``) and passed to
        /// ``Grant/confirmIdentity(epoch:)`` before it uses anything else that statement returned: one hop
        /// fewer. Only for reads that do nothing before that; should the module not confirm, the Gate reads
        /// the epoch after the operation, and a moved epoch means the operation runs again on the token as
        /// stored (so its result, or its error, never reaches a caller whose token was revoked).
        case inModule
    }

    /// Coffer's own capabilities a path needs besides the operation's (`rotate`, `audit`).
    public var extraCapabilities: Capabilities
    /// When a change's request entry commits (reads and lists have none).
    public var requestEntry: RequestEntry
    /// Where a read's revocation epoch is checked (changes: always before the operation).
    public var epochCheck: EpochCheck

    public init(
        token: String?, path: CanonicalPath, operation: Operation, access: Access = .token(sudo: false), requestID: String,
        remoteAddress: String, extraCapabilities: Capabilities = [], requestEntry: RequestEntry = .first,
        epochCheck: EpochCheck = .beforeOperation
    ) {
        self.epochCheck = epochCheck
        self.token = token
        self.path = path
        self.operation = operation
        self.access = access
        self.requestID = requestID
        self.remoteAddress = remoteAddress
        self.extraCapabilities = extraCapabilities
        self.requestEntry = requestEntry
    }

    /// A request of Coffer's own background work: no token, decided by `service`'s policy, audited under its name.
    public static func service(_ service: ServiceIdentity, path: CanonicalPath, operation: Operation) -> GateRequest {
        GateRequest(
            token: nil, path: path, operation: operation, access: .service(service), requestID: service.name + "-" + UUID().uuidString,
            remoteAddress: service.auditName)
    }
}

/// Proof that the Gate authenticated, authorised and audited one request. Only the Gate makes grants
/// (the initialiser is internal to CofferAccess), and every module operation takes one: so no module can be
/// reached around the Gate. A grant is for one request; do not keep it.
public struct Grant: Sendable {
    /// The token's accessor, or `""` on an open path.
    public let accessor: String
    public let displayName: String
    public let policies: [String]
    /// The token itself (its entry), `nil` on an open path.
    public let token: TokenEntry?
    /// The resource the Gate decided on: the request's canonical path. Handlers take what they act on from it
    /// (the KV routes their mount, kind and secret path; the cache routes their namespace and key), never from
    /// the request again.
    public let resource: CanonicalPath
    /// ``resource`` as text.
    public var path: String { resource.text }
    public let operation: GateRequest.Operation
    /// Everything the token's policies allow on `path` (modules refine: create vs update, for instance).
    public let capabilities: Capabilities
    public let requestID: String
    public let remoteAddress: String
    // Variables only for the copies below (a delegated grant, one that records its change); nothing else sets them.
    private(set) var acl: ACL
    /// The rule that allowed the request (for its audit entries).
    private(set) var rule: String
    let notes: AuditNotes
    /// The request entry the Gate left to this grant's change (``GateRequest/RequestEntry/withChange``).
    private(set) var record: RequestRecord?
    /// Set when the identity came from this instance's cache without the epoch read (``GateRequest/EpochCheck/inModule``).
    var provisional: ProvisionalIdentity?

    /// The revocation epoch as a column a module's statement can select (``confirmIdentity(epoch:)``).
    public static let epochColumn = "(SELECT value FROM gate_epoch WHERE id = 1)"

    /// The revocation epoch now; `nil` when its row is gone (then nothing is kept or confirmed).
    static func epoch(on conn: any SQLConnection) throws -> Int64? {
        try conn.queryScalar(Int64?.self, "SELECT \(unsafeRaw: epochColumn)") ?? nil
    }

    /// Confirms the identity this grant was decided on, with the revocation epoch the module's statement read
    /// (``epochColumn``; `nil` when there was none). A no-op unless the identity came from the cache unchecked.
    /// - Throws: an error the Gate catches (it runs the operation again on the token as stored) when the epoch
    ///   moved since the identity was kept; the module must use nothing its statement returned.
    public func confirmIdentity(epoch: Int64?) throws {
        try provisional?.confirm(epoch)
    }

    init(
        accessor: String, displayName: String, policies: [String], token: TokenEntry?, path: CanonicalPath,
        operation: GateRequest.Operation,
        capabilities: Capabilities, requestID: String, remoteAddress: String, acl: ACL, rule: String, notes: AuditNotes = AuditNotes()
    ) {
        self.accessor = accessor
        self.displayName = displayName
        self.policies = policies
        self.token = token
        self.resource = path
        self.operation = operation
        self.capabilities = capabilities
        self.requestID = requestID
        self.remoteAddress = remoteAddress
        self.acl = acl
        self.rule = rule
        self.notes = notes
    }

    /// This grant, its change recorded by `record`.
    func recording(_ record: RequestRecord?) -> Grant {
        var copy = self
        copy.record = record
        return copy
    }

    /// Runs `body` in one transaction on `database`. When the Gate left this request's entry to its change
    /// (``GateRequest/RequestEntry/withChange``), the first such transaction runs in the audit trail's group
    /// commit instead, with that entry: the change and its record commit together or not at all. Coffer opens
    /// one database per process, so the trail's database is the module's.
    /// - Throws: what `body` throws, or ``AccessError`` `.auditUnavailable` when the commit did not happen in time.
    public func transaction<T: Sendable>(
        on database: any Database, _ body: @escaping @Sendable (any SQLConnection) throws -> T
    ) async throws -> T {
        guard let record, let entry = record.take() else { return try await database.transaction(body) }
        return try await record.audit.commit(entry, change: body)
    }

    /// This grant carried over to a module's own storage behind the resource the Gate decided on (the
    /// database engine keeps static roles' passwords as secrets of its own mount): the same identity,
    /// request and audit entry, with `authority`'s fixed policy as the only authority on anything but the
    /// decided resource. Package-internal, so only Coffer's own modules delegate, each by a named authority.
    package func delegated(to authority: DelegatedAuthority) -> Grant {
        var copy = self
        copy.acl = authority.acl
        copy.rule = rule + " (delegated: \(authority.name))"
        return copy
    }

    /// Whether the token's policies allow `capability` on this grant's path.
    public func allows(_ capability: Capabilities) -> Bool {
        !capabilities.contains(.deny) && capabilities.isSuperset(of: capability)
    }

    /// The caller's capabilities on `path` as Vault's `sys/capabilities-self` gives them: `["root"]` for a root
    /// token, else the deciding rule's names (`["deny"]` for none).
    public func capabilityNames(on path: String) -> [String] {
        policies.contains(Policy.rootName) ? [Policy.rootName] : acl.capabilityNames(on: path)
    }

    /// Whether the token's policies allow `capability` on another path (for an operation that touches two).
    public func allows(_ capability: Capabilities, on path: String) -> Bool {
        acl.check(capability, on: path).allowed
    }

    /// Throws Vault's "permission denied" unless `capability` is allowed on `path`: by the Gate's decision when
    /// `path` is this grant's resource, else by the caller's policies (a decision of its own).
    public func require(_ capability: Capabilities, on path: String) throws {
        guard path == self.path ? allows(capability) : allows(capability, on: path) else { throw AccessError.permissionDenied() }
    }

    /// For a `write` decided by existence: `update` when `exists`, else `create`.
    /// - Throws: Vault's "permission denied" when the grant lacks that capability.
    public func requireWrite(exists: Bool) throws {
        try require(exists ? .update : .create)
    }

    /// Throws Vault's "permission denied" unless `capability` is allowed here.
    public func require(_ capability: Capabilities) throws {
        guard allows(capability) else { throw AccessError.permissionDenied() }
    }

    /// Records a sensitive value of this request (a token handed out, a secret returned): the response's audit
    /// entry holds it only as `hmac:` + keyed BLAKE2b, so an auditor can check a known value with `coffer audit hash`.
    public func auditSensitive(_ key: String, _ value: String) {
        notes.add(key: key, value: value, sensitive: true)
    }

    /// Records secret bytes (a secret's data, as its JSON text) for the response's audit entry, which holds
    /// only their `hmac:` hash. The bytes stay in guarded memory until the entry is made.
    public func auditSensitive(_ key: String, secret: SecureHandle) {
        notes.add(key: key, value: "", sensitive: true, secret: secret)
    }

    /// Records a plain, non-secret fact in the response's audit entry (a created accessor, a policy name).
    public func auditFact(_ key: String, _ value: String) {
        notes.add(key: key, value: value, sensitive: false)
    }
}

/// Values recorded for the response entry during one request.
final class AuditNotes: Sendable {
    struct Note: Sendable {
        let key: String
        let value: String
        let sensitive: Bool
        /// Secret bytes hashed in place of `value`.
        let secret: SecureHandle?
    }
    private let notes = Locked<[Note]>([])

    func add(key: String, value: String, sensitive: Bool, secret: SecureHandle? = nil) {
        notes.withLock { $0.append(Note(key: key, value: value, sensitive: sensitive, secret: secret)) }
    }

    var all: [Note] { notes.withLock { $0 } }
}

/// A module's fixed authority over its own storage, for ``Grant/delegated(to:)``: a name (in the audit
/// entry's rule) and a policy. Package-internal.
package struct DelegatedAuthority: Sendable {
    let name: String
    let acl: ACL

    package init(name: String, policyText: String) {
        self.name = name
        acl = ACL(fixed: name, text: policyText)
    }
}

/// A change's request entry the Gate left to the module (``GateRequest/RequestEntry/withChange``): taken once,
/// by the change's transaction, or by the Gate before the response entry when the operation made none.
final class RequestRecord: Sendable {
    let audit: AuditLog
    private let entry: Locked<AuditEntry?>

    init(audit: AuditLog, entry: AuditEntry) {
        self.audit = audit
        self.entry = Locked(entry)
    }

    /// The entry, the first time only.
    func take() -> AuditEntry? {
        entry.withLock { entry in
            defer { entry = nil }
            return entry
        }
    }
}

/// An identity taken from the cache with the epoch it was kept under, not yet checked against the database.
final class ProvisionalIdentity: Sendable {
    let epoch: Int64
    private let confirmed = Locked(false)

    init(epoch: Int64) {
        self.epoch = epoch
    }

    var isConfirmed: Bool { confirmed.withLock { $0 } }

    func confirm(_ current: Int64?) throws {
        guard current == epoch else { throw StaleIdentity() }
        confirmed.withLock { $0 = true }
    }
}

/// The revocation epoch moved after the identity a grant was decided on was kept; the Gate runs the operation
/// again with the token as stored (it never reaches a caller).
struct StaleIdentity: Error {}
