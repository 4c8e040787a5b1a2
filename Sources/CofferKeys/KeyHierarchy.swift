public import CofferCrypto
import CofferFoundation
public import CofferStore
import Foundation

/// The seal state and the keys: uninitialised → sealed → unsealed.
///
/// Sealed means no key material in memory: the root key, the keyring and the system keys exist only
/// while unsealed, in guarded memory, and ``seal()`` drops them (their memory is wiped as the last
/// reference goes). Every operation that needs a key fails with ``KeysError`` `.sealed` meanwhile.
///
/// ```swift
/// let keys = try await KeyHierarchy(database: db)
/// let result = try await keys.initialize(method: .shamir(shares: 5, threshold: 3))
/// for share in result.shares.prefix(3) { _ = try await keys.unseal(with: share.bytes) }
/// let sealer = try keys.sealer()
/// ```
public actor KeyHierarchy {
    /// What `sys/seal-status` reports.
    public struct Status: Sendable, Equatable {
        public let initialized: Bool
        public let sealed: Bool
        /// Vault's `type`: `shamir`, or Coffer's `passphrase` / `keyfile`.
        public let type: String
        public let threshold: Int
        public let shares: Int
        /// Shares entered so far toward the threshold.
        public let progress: Int
    }

    /// What `init` hands out, once.
    public struct InitResult: Sendable {
        /// Shamir shares (empty for other methods).
        public let shares: [SecureHandle]
        /// The root key itself, for the key-file method only (to be written to a 0600 file).
        public let keyFileKey: SecureHandle?
        /// The initial root token; only its keyed hash is stored.
        public let rootToken: String
        public let rootTokenAccessor: String
    }

    /// System key purposes, each sealed in `system_keys`.
    public enum SystemKey: String, Sendable, CaseIterable {
        case tokenHMAC = "token-hmac"
        case auditHMAC = "audit-hmac"
        case auditSigningSeed = "audit-signing-seed"
    }

    private let store: KeyStore
    private var configuration: SealConfiguration?
    private var rootKey: SecureHandle?
    /// Behind a lock rather than the actor, so that taking a sealer for a request is not an actor hop.
    private let currentKeyring = Locked<Keyring?>(nil)
    private var keyring: Keyring? {
        get { currentKeyring.withLock { $0 } }
        set { currentKeyring.withLock { $0 = newValue } }
    }
    /// The system keys while unsealed, readable without a hop onto the actor: the Gate hashes every
    /// request's token with one of them. Emptied by `seal`.
    private let systemKeys = Locked<[SystemKey: SecureHandle]>([:])
    /// The audit checkpoint key pair, derived from its seed at unseal (every audit commit signs with it; the
    /// derivation costs as much as a signature). Dropped by `seal` with the seed.
    private let auditSigningKey = Locked<SigningKeyHandle?>(nil)
    private var pendingShares: [SecureHandle] = []
    /// Whether an unseal's Argon2id (256 MiB, about a second) is running: anyone may call `sys/unseal` while
    /// sealed, so at most one derivation runs at a time and others are told to retry (503), never queued.
    private var deriving = false
    private var rekeyOperation: RekeyOperation?
    /// This process's name in `key_instances`, where it records the term it seals under.
    public nonisolated let instanceID: String = "coffer-" + String(UUID().uuidString.lowercased().prefix(13))
    /// A heartbeat older than this is an instance that stopped: it no longer holds a retire back.
    public static let heartbeatWindow: Double = 30

    /// Rows refused for failing authentication (reported by `/v1/sys/health`).
    public nonisolated let integrity = RowIntegrity()
    /// The tables whose rows carry authentication tags, registered by the modules that own them.
    private let authenticatedTables = Locked<[AuthenticatedTable]>([])

    /// Registers tables whose rows carry authentication tags (each module registers its own when it is made):
    /// rewrap moves their tags onto the active term, and the first unseal after `init` or an upgrade tags the
    /// rows that were written without one (seeded by migrations, or by an older release).
    public nonisolated func register(_ tables: [AuthenticatedTable]) {
        authenticatedTables.withLock { registered in
            for table in tables where !registered.contains(where: { $0.table == table.table }) { registered.append(table) }
        }
    }

    private struct RekeyOperation {
        var nonce: String
        let method: UnsealMethod
        let passphrase: SecureHandle?
        /// Vault's `require_verification`: without it the new keys are written as soon as they are made.
        let requireVerification: Bool
        var parts: [SecureHandle] = []
        /// The new root key, made once the current keys were verified; written only after verification.
        var staged: SecureHandle?
        var verifyParts: [SecureHandle] = []
    }

    /// A rekey in progress, in Vault's terms: the new `t`/`n`, and how many current keys are entered of those required.
    public struct RekeyStatus: Sendable, Equatable {
        public let started: Bool
        public let nonce: String
        public let newThreshold: Int
        public let newShares: Int
        public let progress: Int
        public let required: Int
        /// True once the new keys were handed out and wait for verification.
        public let verifying: Bool
        public let verificationProgress: Int
        public let verificationRequired: Bool
    }

    /// What a finished rekey hands out, once: the new shares, or the new key-file key.
    public struct RekeyResult: Sendable {
        public let nonce: String
        public let shares: [SecureHandle]
        public let keyFileKey: SecureHandle?
        /// False when the rekey is already written (it did not ask for verification).
        public let verificationRequired: Bool
    }

    /// Reads the seal configuration (if any); starts sealed.
    public init(database: any Database) async throws {
        store = KeyStore(database: database)
        configuration = try await store.loadConfiguration()
    }

    public var status: Status {
        guard let configuration else {
            return Status(initialized: false, sealed: true, type: "shamir", threshold: 0, shares: 0, progress: 0)
        }
        let (t, n) = configuration.method.thresholdAndShares
        return Status(
            initialized: true, sealed: rootKey == nil, type: configuration.method.name, threshold: t, shares: n,
            progress: pendingShares.count)
    }

    // MARK: init

    /// Creates the root key, the first data key and the system keys, and an initial root token.
    /// Leaves the hierarchy sealed, as Vault does after `init`.
    /// - Throws: ``KeysError`` `.alreadyInitialized`, `.invalidRequest`.
    public func initialize(method: UnsealMethod, passphrase: SecureHandle? = nil) async throws -> InitResult {
        if configuration == nil { configuration = try await store.loadConfiguration() }
        guard configuration == nil else { throw KeysError(.alreadyInitialized, "Coffer is already initialised") }
        let (rootHandle, shares, keyFileKey) = try Self.makeRootKey(method: method, passphrase: passphrase)
        let root = rootHandle.bytes.copy()
        // The first unseal tags the rows the migrations seeded (mounts, the default policy) and moves the check
        // to its current label, exactly as after an upgrade (see SealConfiguration.keyCheck(for:)).
        let config = SealConfiguration(method: method, keyCheck: try SealConfiguration.legacyKeyCheck(for: root), rootGeneration: 1)
        let firstKey = SecureBytes.random(count: AEAD.keyBytes)
        let firstBox = try AEAD.seal(firstKey, key: root, associatedData: KeyStore.keyringAD(term: 1))
        var system: [(String, AEAD.Box)] = []
        var systemHandles: [SystemKey: SecureHandle] = [:]
        for purpose in SystemKey.allCases {
            let key = SecureBytes.random(count: 32)
            system.append((purpose.rawValue, try AEAD.seal(key, key: root, associatedData: KeyStore.systemAD(purpose: purpose.rawValue))))
            systemHandles[purpose] = SecureHandle(key)
        }
        let token = RootToken.generate()
        guard let tokenKey = systemHandles[.tokenHMAC] else { throw KeysError(.invalidRequest, "token key missing") }
        let tokenHash = try BLAKE2b.hash(Array(token.token.utf8), key: tokenKey.bytes)
        try await store.writeInitial(
            configuration: config, firstKey: firstBox, systemKeys: system,
            rootTokenAccessor: token.accessor, rootTokenHash: tokenHash)
        configuration = config
        return InitResult(shares: shares, keyFileKey: keyFileKey, rootToken: token.token, rootTokenAccessor: token.accessor)
    }

    /// A new root key for `method`, with what the operator receives: Shamir shares, or the key-file key.
    private static func makeRootKey(method: UnsealMethod, passphrase: SecureHandle?) throws
        -> (root: SecureHandle, shares: [SecureHandle], keyFileKey: SecureHandle?)
    {
        switch method {
        case .shamir(let n, let t):
            guard (1...255).contains(n), (1...n).contains(t), t >= 2 || n == 1 else {
                throw KeysError(
                    .invalidRequest, "secret_threshold must be between 2 and secret_shares (or both 1), and secret_shares at most 255")
            }
            let root = SecureHandle(SecureBytes.random(count: 32))
            let shares = n == 1 ? [SecureHandle(root.bytes.copy())] : try Shamir.split(root.bytes, shares: n, threshold: t)
            return (root, shares, nil)
        case .passphrase(let parameters):
            // The root key is the passphrase's Argon2id output under the stored salt and costs.
            guard let passphrase, passphrase.bytes.count >= 8 else {
                throw KeysError(.invalidRequest, "a passphrase of at least 8 bytes is required")
            }
            return (SecureHandle(try Argon2id.deriveKey(passphrase: passphrase.bytes, parameters: parameters)), [], nil)
        case .keyFile:
            let root = SecureHandle(SecureBytes.random(count: 32))
            return (root, [], root)
        }
    }

    // MARK: unseal and seal

    /// Takes one unseal key part: a Shamir share, the passphrase, or the key-file key.
    ///
    /// Shares accumulate until the threshold; then the root key is rebuilt, checked against the key-check
    /// value, and the keyring opened. A wrong result clears the progress, as Vault does.
    /// - Throws: ``KeysError`` `.notInitialized`, `.invalidRequest` (malformed or repeated share),
    ///   `.unsealFailed` (wrong shares, passphrase or key), `.tampered` (stored keys altered).
    public func unseal(with part: borrowing SecureBytes) async throws -> Status {
        // Another instance on the same database may have run `init` since this one started.
        if configuration == nil { configuration = try await store.loadConfiguration() }
        guard let configuration else { throw KeysError(.notInitialized, "Coffer is not initialised: run coffer operator init") }
        guard rootKey == nil else { return status }
        let candidate: SecureBytes
        if case .passphrase(let parameters) = configuration.method {
            // Argon2id takes about a second and 256 MiB: run it off the actor, so that status, health and seal
            // are not held up meanwhile (the actor is reentrant across this await).
            guard !deriving else {
                throw KeysError(.busy, "another unseal attempt is deriving its key; retry in a second")
            }
            deriving = true
            defer { deriving = false }
            let derived = try await Self.derive(passphrase: SecureHandle(part.copy()), parameters: parameters)
            guard rootKey == nil else { return status }
            candidate = derived.bytes.copy()
        } else {
            // As Vault: a share entered again during an unseal is ignored, not an error.
            guard let collected = try Self.collect(part, into: &pendingShares, method: configuration.method, repeated: .ignored) else {
                return status
            }
            candidate = collected
        }
        let check = try SealConfiguration.keyCheck(for: candidate)
        let legacyCheck = try SealConfiguration.legacyKeyCheck(for: candidate)
        let current = ConstantTime.equals(check, configuration.keyCheck)
        guard current || ConstantTime.equals(legacyCheck, configuration.keyCheck) else {
            throw KeysError(
                .unsealFailed,
                """
                unseal failed: the \(configuration.method.name == "shamir" ? "shares do" : "key does") not reproduce the root \
                key; progress was reset
                """
            )
        }
        try await openKeys(with: candidate)
        if !current { try await authenticateLegacyRows(legacyCheck: legacyCheck, check: check) }
        try? await heartbeat()
        return status
    }

    /// Argon2id on a detached task, away from the actor.
    private static func derive(passphrase: SecureHandle, parameters: Argon2id.Parameters) async throws -> SecureHandle {
        try await Task.detached {
            SecureHandle(try Argon2id.deriveKey(passphrase: passphrase.bytes, parameters: parameters))
        }.value
    }

    /// What a share entered a second time does: nothing (unseal), or a 400 that says so (rekey, root generation).
    enum RepeatedShare { case ignored, refused }

    /// Adds one unseal key part to `parts` and, once there are enough, returns the candidate root key.
    private static func collect(
        _ part: borrowing SecureBytes, into parts: inout [SecureHandle], method: UnsealMethod,
        repeated: RepeatedShare = .refused
    ) throws -> SecureBytes? {
        switch method {
        case .shamir(let n, let t):
            if n == 1 {
                guard part.count == 32 else { throw KeysError(.invalidRequest, "the unseal key must be 32 bytes (hex or base64)") }
                return part.copy()
            }
            guard part.count == 33 else { throw KeysError(.invalidRequest, "an unseal share must be 33 bytes (hex or base64)") }
            let x = part.withUnsafeBytes { $0[32] }
            if parts.contains(where: { $0.bytes.withUnsafeBytes { $0[32] } == x }) {
                guard repeated == .refused else { return nil }
                throw KeysError(.invalidRequest, "this share was already entered; enter a different one")
            }
            parts.append(SecureHandle(part.copy()))
            guard parts.count >= t else { return nil }
            let shares = parts
            parts = []
            do { return try Shamir.combine(shares) } catch {
                throw KeysError(.unsealFailed, "the shares could not be combined: \(error)")
            }
        case .passphrase(let parameters):
            return try Argon2id.deriveKey(passphrase: part, parameters: parameters)
        case .keyFile:
            guard part.count == 32 else { throw KeysError(.invalidRequest, "the unseal key must be 32 bytes (base64 or hex)") }
            return part.copy()
        }
    }

    /// Forgets the shares entered so far.
    public func resetUnsealProgress() -> Status {
        pendingShares = []
        return status
    }

    /// Drops every key from memory.
    public func seal() {
        rootKey = nil
        keyring = nil
        systemKeys.withLock { $0 = [:] }
        auditSigningKey.withLock { $0 = nil }
        pendingShares = []
        rekeyOperation = nil
        rootGeneration = nil
    }

    /// Tags the rows a release before row authentication wrote, once: in the transaction that moves the key
    /// check to its current label (see ``SealConfiguration/keyCheck(for:)``). Of instances unsealing at once,
    /// each tags what is still untagged; the check moves once.
    private func authenticateLegacyRows(legacyCheck: [UInt8], check: [UInt8]) async throws {
        guard let keyring else { throw KeysError.sealed }
        let sealer = Sealer(keyring: keyring)
        let tables = authenticatedTables.withLock { $0 }
        try await store.database.transaction { conn in
            for table in tables {
                while true {
                    let rows = try table.rows(notUnder: keyring.activeTerm, untaggedOnly: true, limit: 1000, on: conn)
                    for row in rows { _ = try table.retag(row, from: nil, to: try sealer.tag(try table.read(row).fields), on: conn) }
                    if rows.count < 1000 { break }
                }
            }
            try conn.execute("UPDATE seal_config SET key_check = \(check) WHERE id = 1 AND key_check = \(legacyCheck)")
        }
        configuration?.keyCheck = check
    }

    private func openKeys(with root: consuming SecureBytes) async throws {
        let sealed = try await store.loadSealedKeys()
        var keys: [Int64: SecureHandle] = [:]
        var terms: [Keyring.Term] = []
        for entry in sealed.keyring where entry.status != .retired {
            do {
                keys[entry.term] = SecureHandle(try AEAD.open(entry.box, key: root, associatedData: KeyStore.keyringAD(term: entry.term)))
            } catch {
                throw KeysError(.tampered, "keyring term \(entry.term) failed authentication: the keyring table was altered")
            }
            terms.append(Keyring.Term(term: entry.term, status: entry.status, createdAt: entry.createdAt))
        }
        var system: [SystemKey: SecureHandle] = [:]
        for entry in sealed.system {
            guard let purpose = SystemKey(rawValue: entry.purpose) else { continue }
            do {
                system[purpose] = SecureHandle(
                    try AEAD.open(entry.box, key: root, associatedData: KeyStore.systemAD(purpose: entry.purpose)))
            } catch {
                throw KeysError(.tampered, "system key \(entry.purpose) failed authentication: the system_keys table was altered")
            }
        }
        guard terms.contains(where: { $0.status == .active }) else {
            throw KeysError(.tampered, "the keyring has no active term: the keyring table was altered")
        }
        let signer = try system[.auditSigningSeed].map { SigningKeyHandle(try Ed25519SigningKey(seed: $0.bytes)) }
        keyring = try Keyring(keys: keys, terms: terms, integrity: integrity)
        systemKeys.withLock { $0 = system }
        auditSigningKey.withLock { $0 = signer }
        rootKey = SecureHandle(root)
    }

    // MARK: rekey

    /// Starts a rekey: a new root key and unseal method, authorised by entering the current unseal keys
    /// with ``rekeyUpdate(with:nonce:)``. Refused while another rekey is in progress.
    /// - Parameter requireVerification: the new keys are written only once the operator sends enough of them
    ///   back (``rekeyVerify(with:nonce:)``); without it, as soon as they are made (Vault's default).
    public func rekeyInit(method: UnsealMethod, passphrase: SecureHandle? = nil, requireVerification: Bool = true) throws -> RekeyStatus {
        guard configuration != nil else { throw KeysError(.notInitialized, "Coffer is not initialised: run coffer operator init") }
        guard rootKey != nil else { throw KeysError.sealed }
        if case .shamir(let n, let t) = method, !((1...255).contains(n) && (1...n).contains(t) && (t >= 2 || n == 1)) {
            throw KeysError(
                .invalidRequest, "secret_threshold must be between 2 and secret_shares (or both 1), and secret_shares at most 255")
        }
        if case .passphrase = method, (passphrase?.bytes.count ?? 0) < 8 {
            throw KeysError(.invalidRequest, "a passphrase of at least 8 bytes is required")
        }
        // As Vault: an unauthenticated rekey init must not replace one in progress (and its entered shares).
        guard rekeyOperation == nil else {
            throw KeysError(.invalidRequest, "a rekey is already in progress; cancel it (DELETE sys/rekey/init) before starting another")
        }
        rekeyOperation = RekeyOperation(
            nonce: UUID().uuidString.lowercased(), method: method, passphrase: passphrase,
            requireVerification: requireVerification)
        return rekeyStatus
    }

    public var rekeyStatus: RekeyStatus {
        let required = configuration?.method.thresholdAndShares.0 ?? 0
        guard let operation = rekeyOperation else {
            return RekeyStatus(
                started: false, nonce: "", newThreshold: 0, newShares: 0, progress: 0, required: required,
                verifying: false, verificationProgress: 0, verificationRequired: false)
        }
        let (t, n) = operation.method.thresholdAndShares
        return RekeyStatus(
            started: true, nonce: operation.nonce, newThreshold: t, newShares: n, progress: operation.parts.count, required: required,
            verifying: operation.staged != nil, verificationProgress: operation.verifyParts.count,
            verificationRequired: operation.requireVerification)
    }

    /// The unseal method the rekey in progress moves to (`shamir`, `passphrase`, `keyfile`), if any.
    public var rekeyMethodName: String? { rekeyOperation?.method.name }

    public func rekeyCancel() {
        rekeyOperation = nil
    }

    /// Vault's `DELETE sys/rekey/verify`: forgets the new-key parts entered so far and gives the verification a
    /// new nonce; the new keys stay handed out and waiting.
    public func rekeyResetVerification() -> RekeyStatus {
        if rekeyOperation?.staged != nil {
            rekeyOperation?.verifyParts = []
            rekeyOperation?.nonce = UUID().uuidString.lowercased()
        }
        return rekeyStatus
    }

    /// Takes one current unseal key part. When enough are in and they reproduce the current root key, a new
    /// root key is made and its shares (or key) are returned, but nothing is stored yet: the operator
    /// proves they kept the new keys with ``rekeyVerify(with:nonce:)``, and only then is the change written.
    /// Until that moment the old keys keep working, so a lost answer or a crash loses nothing.
    /// - Returns: `nil` while more parts are needed; the new shares (or key-file key) when done.
    public func rekeyUpdate(with part: borrowing SecureBytes, nonce: String) async throws -> RekeyResult? {
        guard let configuration, let currentRoot = rootKey else { throw KeysError.sealed }
        guard var operation = rekeyOperation else { throw KeysError(.invalidRequest, "no rekey is in progress: start one with rekey init") }
        guard operation.nonce == nonce else { throw KeysError(.invalidRequest, "the nonce does not match the rekey in progress") }
        guard operation.staged == nil else {
            throw KeysError(.invalidRequest, "the new keys were handed out: verify them with rekey verify")
        }
        let candidate = try Self.collect(part, into: &operation.parts, method: configuration.method)
        rekeyOperation = operation
        guard let candidate else { return nil }
        guard candidate.constantTimeEquals(currentRoot.bytes) else {
            rekeyOperation?.parts = []
            throw KeysError(.unsealFailed, "the keys entered do not reproduce the current root key; rekey progress was reset")
        }
        let (newRoot, shares, keyFileKey) = try Self.makeRootKey(method: operation.method, passphrase: operation.passphrase)
        guard operation.requireVerification else {
            try await commitRekey(to: newRoot, method: operation.method, from: currentRoot, configuration: configuration)
            return RekeyResult(nonce: operation.nonce, shares: shares, keyFileKey: keyFileKey, verificationRequired: false)
        }
        operation.staged = newRoot
        operation.parts = []
        rekeyOperation = operation
        return RekeyResult(nonce: operation.nonce, shares: shares, keyFileKey: keyFileKey, verificationRequired: true)
    }

    /// Takes one part of the *new* keys. When they reproduce the staged root key, the keyring and the system
    /// keys are re-encrypted under it and the seal configuration replaced, in one transaction.
    /// - Returns: false while more parts are needed, true once the rekey is written.
    public func rekeyVerify(with part: borrowing SecureBytes, nonce: String) async throws -> Bool {
        guard let configuration, let currentRoot = rootKey else { throw KeysError.sealed }
        guard var operation = rekeyOperation, let staged = operation.staged else {
            throw KeysError(.invalidRequest, "no rekey is waiting for verification")
        }
        guard operation.nonce == nonce else { throw KeysError(.invalidRequest, "the nonce does not match the rekey in progress") }
        let candidate = try Self.collect(part, into: &operation.verifyParts, method: operation.method)
        rekeyOperation = operation
        guard let candidate else { return false }
        guard candidate.constantTimeEquals(staged.bytes) else {
            rekeyOperation?.verifyParts = []
            throw KeysError(.unsealFailed, "the keys entered are not the new keys; verification progress was reset")
        }
        try await commitRekey(to: staged, method: operation.method, from: currentRoot, configuration: configuration)
        return true
    }

    /// Writes a rekey: the keyring and the system keys re-encrypted under `newRoot` and the seal configuration
    /// replaced, in one transaction; then the old keys no longer unseal and the rekey is over.
    private func commitRekey(
        to newRoot: SecureHandle, method: UnsealMethod, from currentRoot: SecureHandle,
        configuration: SealConfiguration
    ) async throws {
        let sealed = try await store.loadSealedKeys()
        // Re-encrypt under the new root key, with the same associated data (each key stays bound to its term or purpose).
        func reseal(_ box: AEAD.Box, _ associatedData: [UInt8]) throws -> AEAD.Box {
            try AEAD.seal(
                try AEAD.open(box, key: currentRoot.bytes, associatedData: associatedData), key: newRoot.bytes,
                associatedData: associatedData)
        }
        let keyring = try sealed.keyring.map { ($0.term, try reseal($0.box, KeyStore.keyringAD(term: $0.term))) }
        let system = try sealed.system.map { ($0.purpose, try reseal($0.box, KeyStore.systemAD(purpose: $0.purpose))) }
        let newConfiguration = SealConfiguration(
            method: method, keyCheck: try SealConfiguration.keyCheck(for: newRoot.bytes),
            rootGeneration: configuration.rootGeneration + 1)
        try await store.rekey(from: configuration.rootGeneration, to: newConfiguration, keyring: keyring, system: system)
        // Written, and neither this instance nor the caller knows yet: after a crash here only the new keys unseal.
        try Failpoints.hit("keys.rekey.committed")
        self.configuration = newConfiguration
        self.rootKey = newRoot
        rekeyOperation = nil
    }

    // MARK: root token generation

    /// A root token generation in progress (Vault's `sys/generate-root`): the one-time pad the new token will be
    /// encoded with, and the unseal key parts entered so far.
    private struct RootGeneration {
        let nonce: String
        let otp: SecureHandle
        var parts: [SecureHandle] = []
    }
    private var rootGeneration: RootGeneration?

    /// A root token generation's progress, in Vault's terms.
    public struct RootGenerationStatus: Sendable, Equatable {
        public let started: Bool
        public let nonce: String
        public let progress: Int
        public let required: Int
    }

    public var rootGenerationStatus: RootGenerationStatus {
        let required = configuration?.method.thresholdAndShares.0 ?? 0
        guard let rootGeneration else { return RootGenerationStatus(started: false, nonce: "", progress: 0, required: required) }
        return RootGenerationStatus(started: true, nonce: rootGeneration.nonce, progress: rootGeneration.parts.count, required: required)
    }

    /// Starts a root token generation whose token will be XORed with `otp` (as long as a token). Refused while
    /// sealed and while another generation is in progress.
    public func generateRootInit(otp: SecureHandle) throws -> RootGenerationStatus {
        guard configuration != nil else { throw KeysError(.notInitialized, "Coffer is not initialised: run coffer operator init") }
        guard rootKey != nil else { throw KeysError.sealed }
        guard rootGeneration == nil else {
            throw KeysError(
                .invalidRequest, "root generation already in progress; cancel it (DELETE sys/generate-root/attempt) before starting another"
            )
        }
        rootGeneration = RootGeneration(nonce: UUID().uuidString.lowercased(), otp: otp)
        return rootGenerationStatus
    }

    public func generateRootCancel() {
        rootGeneration = nil
    }

    /// Takes one current unseal key part. When enough are in and they reproduce the root key, the generation
    /// ends and its one-time pad is returned, for the caller to encode a new root token with.
    /// - Returns: `nil` while more parts are needed.
    /// - Throws: ``KeysError`` `.unsealFailed` for parts that do not reproduce the root key (progress is reset).
    public func generateRootUpdate(with part: borrowing SecureBytes, nonce: String) throws -> SecureHandle? {
        guard let configuration, let currentRoot = rootKey else { throw KeysError.sealed }
        guard var generation = rootGeneration else {
            throw KeysError(.invalidRequest, "no root generation in progress: start one with sys/generate-root/attempt")
        }
        guard generation.nonce == nonce else {
            throw KeysError(.invalidRequest, "the nonce does not match the root generation in progress")
        }
        let candidate = try Self.collect(part, into: &generation.parts, method: configuration.method)
        rootGeneration = generation
        guard let candidate else { return nil }
        guard candidate.constantTimeEquals(currentRoot.bytes) else {
            rootGeneration?.parts = []
            throw KeysError(.unsealFailed, "the keys entered do not reproduce the root key; root generation progress was reset")
        }
        rootGeneration = nil
        return generation.otp
    }

    // MARK: using the keys

    /// Picks up a key rotation made by another instance (the keyring is reloaded when the database's active term
    /// is newer than this one's, or a term this one holds was retired) and records the term this instance seals
    /// under in `key_instances`, so that `rewrap --retire` waits for it. The service calls it every few seconds.
    public func heartbeat() async throws {
        guard let rootKey, let keyring else { return }
        let sealed = try await store.loadSealedKeys()
        let stored = sealed.keyring.first { $0.status == .active }?.term ?? keyring.activeTerm
        let retiredHere = Set(sealed.keyring.filter { $0.status == .retired }.map(\.term)).intersection(keyring.keys.keys)
        if stored != keyring.activeTerm || !retiredHere.isEmpty {
            // Another instance rotated (or retired): the new key is sealed under the same root key, unless a rekey
            // replaced it, in which case this one keeps its keys until it is unsealed again.
            if try await rootKeyIsCurrent() { try await openKeys(with: rootKey.bytes.copy()) }
        }
        guard let active = self.keyring?.activeTerm else { return }
        try await store.heartbeat(id: instanceID, term: active)
    }

    /// Whether the stored seal configuration still checks against this instance's root key (no rekey elsewhere).
    private func rootKeyIsCurrent() async throws -> Bool {
        guard let stored = try await store.loadConfiguration() else { return false }
        return ConstantTime.equals(stored.keyCheck, configuration?.keyCheck ?? [])
    }

    /// A snapshot of the keyring for sealing and opening records during one request.
    public nonisolated func sealer() throws -> Sealer {
        guard let keyring = currentKeyring.withLock({ $0 }) else { throw KeysError.sealed }
        return Sealer(keyring: keyring)
    }

    /// A system key (token or audit HMAC key, audit signing seed).
    /// - Throws: ``KeysError`` `.sealed` while sealed.
    public nonisolated func systemKey(_ purpose: SystemKey) throws -> SecureHandle {
        guard let key = systemKeys.withLock({ $0[purpose] }) else { throw KeysError.sealed }
        return key
    }

    /// The key pair that signs audit checkpoints (derived from the `audit-signing-seed` system key).
    /// - Throws: ``KeysError`` `.sealed` while sealed.
    public nonisolated func auditSigner() throws -> SigningKeyHandle {
        guard let signer = auditSigningKey.withLock({ $0 }) else { throw KeysError.sealed }
        return signer
    }

    /// The keyring's terms (public facts only).
    public func keyStatus() throws -> [Keyring.Term] {
        guard let keyring else { throw KeysError.sealed }
        return keyring.terms
    }

    /// Adds a new data key; new writes use it at once, older terms still decrypt.
    public func rotate() async throws -> Keyring.Term {
        guard let rootKey, let keyring else { throw KeysError.sealed }
        // Another instance may have rekeyed: a data key sealed under a replaced root key would be lost.
        guard try await rootKeyIsCurrent() else {
            throw KeysError(
                .invalidRequest, "the root key was changed by a rekey on another instance: seal and unseal this one with the new keys")
        }
        // Another instance may have rotated meanwhile: reload so the new term number is fresh.
        let sealed = try await store.loadSealedKeys()
        let term = (sealed.keyring.map(\.term).max() ?? keyring.activeTerm) + 1
        let key = SecureBytes.random(count: AEAD.keyBytes)
        let box = try AEAD.seal(key, key: rootKey.bytes, associatedData: KeyStore.keyringAD(term: term))
        _ = try await store.addTerm(term, box: box, generation: configuration?.rootGeneration ?? 0)
        // The term is stored and this instance has not loaded it: after a crash here the next unseal does.
        try Failpoints.hit("keys.rotate.added")
        try await openKeys(with: rootKey.bytes.copy())
        try? await store.heartbeat(id: instanceID, term: term)
        guard let added = self.keyring?.terms.first(where: { $0.term == term }) else {
            throw KeysError(.tampered, "the new key term \(term) is missing after rotation")
        }
        return added
    }

    /// Moves up to `batchSize` records still sealed under older terms onto the active term.
    ///
    /// Safe while the service serves: each record is updated only if it still holds the ciphertext that was
    /// read (a concurrent write wins and is left alone). Resumable after a crash: it keeps no state of its
    /// own, each call picks up whatever is still on an older term. With `retire`, once nothing remains on
    /// the older terms they are marked retired and no longer loaded at unseal.
    public func rewrap(_ tables: [EncryptedTable], batchSize: Int = 500, retire: Bool = false) async throws -> RewrapProgress {
        guard let keyring else { throw KeysError.sealed }
        let sealer = Sealer(keyring: keyring)
        let active = keyring.activeTerm
        var rewrapped = 0
        var budget = max(1, batchSize)
        for table in tables where budget > 0 {
            let limit = budget
            let rows = try await store.database.read { conn in try table.values(below: active, limit: limit, on: conn) }
            for row in rows {
                let (id, old, binding) = (row.id, row.value, table.binding(of: row))
                let fresh = try sealer.seal(try sealer.open(old, binding: binding), binding: binding)
                let changed = try await store.database.transaction { conn in
                    try conn.execute(
                        """
                        UPDATE \(unsafeRaw: table.table)
                        SET \(unsafeRaw: table.termColumn) = \(fresh.term), \(unsafeRaw: table.sealedColumn) = \(fresh.sealed)
                        WHERE \(unsafeRaw: table.idColumn) = \(id) AND \(unsafeRaw: table.termColumn) = \(old.term)
                          AND \(unsafeRaw: table.sealedColumn) = \(old.sealed)
                        """)
                }
                rewrapped += changed
                // One record moved, the rest of the batch not: a crash here leaves records on both terms.
                try Failpoints.hit("keys.rewrap.record")
            }
            budget -= rows.count
        }
        // Authentication tags move with the data keys: a row still tagged under an older term would be refused
        // once that term is retired. A row that fails to verify is left as it is (and reported), never re-tagged.
        let authenticated = authenticatedTables.withLock { $0 }
        var retagged = 0
        for table in authenticated where budget > 0 {
            let limit = budget
            let rows = try await store.database.read { conn in try table.rows(notUnder: active, limit: limit, on: conn) }
            for row in rows {
                let (fields, old) = try table.read(row)
                try sealer.verify(fields, old)
                let fresh = try sealer.tag(fields)
                retagged += try await store.database.transaction { conn in try table.retag(row, from: old, to: fresh, on: conn) }
            }
            budget -= rows.count
        }
        var remaining = 0
        for table in tables {
            remaining += try await store.database.read { conn in
                try conn.queryScalar(
                    Int.self, "SELECT count(*) FROM \(unsafeRaw: table.table) WHERE \(unsafeRaw: table.termColumn) < \(active)") ?? 0
            }
        }
        for table in authenticated {
            remaining += try await store.database.read { conn in try table.count(notUnder: active, on: conn) }
        }
        var retired: [Int64] = []
        if retire && remaining == 0 {
            retired = keyring.terms.filter { $0.status == .decryptOnly }.map(\.term)
            if !retired.isEmpty {
                try Failpoints.hit("keys.rewrap.retire")
                try await store.heartbeat(id: instanceID, term: active)
                try await store.retire(terms: retired, active: active, window: Self.heartbeatWindow)
                guard let rootKey else { throw KeysError.sealed }
                try await openKeys(with: rootKey.bytes.copy())
            }
        }
        var progress = RewrapProgress(rewrapped: rewrapped, remaining: remaining, activeTerm: active, retiredTerms: retired)
        progress.retagged = retagged
        return progress
    }
}

/// The initial root token: a recognisable prefix and 32 random bytes, and a non-secret accessor.
struct RootToken {
    let token: String
    let accessor: String

    static func generate() -> RootToken {
        RootToken(token: "cfr." + base64URL(Random.bytes(32)), accessor: base64URL(Random.bytes(18)))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
