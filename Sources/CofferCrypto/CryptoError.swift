/// A cryptographic operation that failed. Messages name what failed, never a key, share or plaintext.
public struct CryptoError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is; matchable with `catch CryptoError.Code.authenticationFailed`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case authenticationFailed, invalidInput, invalidShares, outOfMemory, libraryFailure
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A ciphertext, tag, nonce or associated data did not authenticate: it was altered, truncated,
        /// moved, or the key is wrong. Nothing was decrypted.
        public static let authenticationFailed = Code(.authenticationFailed)
        /// A length or parameter outside what the primitive accepts.
        public static let invalidInput = Code(.invalidInput)
        /// Shamir shares that cannot be combined (too few, duplicated, of different lengths, malformed).
        public static let invalidShares = Code(.invalidShares)
        /// Guarded memory could not be allocated (or, for Argon2id, the memory limit is too high).
        public static let outOfMemory = Code(.outOfMemory)
        /// libsodium reported an unexpected failure.
        public static let libraryFailure = Code(.libraryFailure)

        public var description: String { base.rawValue }

        public static func ~= (code: Code, error: any Error) -> Bool {
            (error as? CryptoError)?.code == code
        }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
