import CofferAccess
import CofferFoundation
import CofferHTTP
import CofferKeys
import HTTPTypes

/// Wrong key parts per client address, shared by `sys/unseal`, `sys/rekey/update` and `sys/rekey/verify`:
/// these need no token (the keys are the authorisation), so nothing but this limit stands between a caller
/// and guessing. After ``perMinute`` wrong keys in a minute the address is answered 429 until the minute
/// has passed. One limit for all three, so a guesser cannot spread attempts over the routes.
struct KeyAttemptLimit: Sendable {
    static let perMinute = 10
    private let failures = LoginLimiter(limit: KeyAttemptLimit.perMinute, window: 60)

    /// Runs `attempt` unless the caller's address is over the limit; a wrong key counts against it.
    func run<R>(_ context: CofferRequestContext, _ attempt: () async throws -> R) async throws -> R {
        let key = ["address:\(context.remoteAddress)"]
        if let wait = failures.blocked(key) {
            throw APIError(.tooManyRequests, "too many wrong keys from this address; try again in \(wait) s", retryAfter: wait)
        }
        do { return try await attempt() } catch let error as KeysError where error.code == .unsealFailed {
            failures.recordFailure(key)
            throw error
        }
    }
}
