/// A key-hierarchy operation that cannot proceed. Messages say what failed and what to do; none holds key material.
public struct KeysError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case notInitialized, alreadyInitialized, sealed, invalidRequest, unsealFailed, tampered, unknownTerm, busy
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// `init` has not run yet.
        public static let notInitialized = Code(.notInitialized)
        /// `init` already ran; it runs once.
        public static let alreadyInitialized = Code(.alreadyInitialized)
        /// No key material is in memory: unseal first.
        public static let sealed = Code(.sealed)
        /// Bad parameters (share counts, a malformed share, an empty passphrase).
        public static let invalidRequest = Code(.invalidRequest)
        /// The shares, passphrase or key do not reproduce the root key.
        public static let unsealFailed = Code(.unsealFailed)
        /// Stored key material failed authentication: it was altered.
        public static let tampered = Code(.tampered)
        /// A record names a key term the keyring does not have.
        public static let unknownTerm = Code(.unknownTerm)
        /// Another unauthenticated attempt holds the one slot for expensive work (Argon2id): retry shortly.
        public static let busy = Code(.busy)

        public var description: String { base.rawValue }

        public static func ~= (code: Code, error: any Error) -> Bool {
            (error as? KeysError)?.code == code
        }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    static let sealedError = KeysError(.sealed, "Coffer is sealed: unseal it first (coffer operator unseal)")
}
