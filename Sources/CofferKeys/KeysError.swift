public import CofferFoundation

/// A key-hierarchy operation that cannot proceed. Messages say what failed and what to do; none holds key material.
public typealias KeysError = CodedError<KeysErrorCode>

/// The codes of ``KeysError``.
public struct KeysErrorCode: ErrorCode {
    public let description: String
    private init(_ description: String) { self.description = description }

    /// `init` has not run yet.
    public static let notInitialized = Self("notInitialized")
    /// `init` already ran; it runs once.
    public static let alreadyInitialized = Self("alreadyInitialized")
    /// No key material is in memory: unseal first.
    public static let sealed = Self("sealed")
    /// Bad parameters (share counts, a malformed share, an empty passphrase).
    public static let invalidRequest = Self("invalidRequest")
    /// The shares, passphrase or key do not reproduce the root key.
    public static let unsealFailed = Self("unsealFailed")
    /// Stored key material failed authentication: it was altered.
    public static let tampered = Self("tampered")
    /// A record names a key term the keyring does not have.
    public static let unknownTerm = Self("unknownTerm")
    /// Another unauthenticated attempt holds the one slot for expensive work (Argon2id): retry shortly.
    public static let busy = Self("busy")
}

extension CodedError where Code == KeysErrorCode {
    static var sealed: KeysError { KeysError(.sealed, "Coffer is sealed: unseal it first (coffer operator unseal)") }
}
