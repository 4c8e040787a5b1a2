public import CofferFoundation

/// A cryptographic operation that failed. Messages name what failed, never a key, share or plaintext.
public typealias CryptoError = CodedError<CryptoErrorCode>

/// The codes of ``CryptoError``.
public struct CryptoErrorCode: ErrorCode {
    public let description: String
    private init(_ description: String) { self.description = description }

    /// A ciphertext, tag, nonce or associated data did not authenticate: it was altered, truncated,
    /// moved, or the key is wrong. Nothing was decrypted.
    public static let authenticationFailed = Self("authenticationFailed")
    /// A length or parameter outside what the primitive accepts.
    public static let invalidInput = Self("invalidInput")
    /// Shamir shares that cannot be combined (too few, duplicated, of different lengths, malformed).
    public static let invalidShares = Self("invalidShares")
    /// Guarded memory could not be allocated (or, for Argon2id, the memory limit is too high).
    public static let outOfMemory = Self("outOfMemory")
    /// libsodium reported an unexpected failure.
    public static let libraryFailure = Self("libraryFailure")
}
