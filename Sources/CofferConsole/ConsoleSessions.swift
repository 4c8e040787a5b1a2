import CofferCrypto
import CofferFoundation
public import Foundation

/// The console's signed-in sessions, in this instance's memory: a random cookie value names a session holding
/// the caller's token (in guarded memory) and the CSRF token its forms carry. A session ends at sign-out,
/// after `idle` without a request, or `absolute` after sign-in, whichever comes first (a token issued for it, an
/// AppRole sign-in's, is revoked then too); a restart ends them all
/// (users sign in again). Behind a load balancer with several instances, route `/ui/` with sticky sessions.
///
/// The map is keyed by an HMAC of the cookie value under a key made at start-up, so the table never holds a
/// cookie value and a lookup's timing says nothing about one.
public final class ConsoleSessions: Sendable {
    /// One signed-in caller.
    struct Session: Sendable {
        let token: SecureHandle
        let csrf: String
        let displayName: String
        let created: Date
        var lastSeen: Date
        /// Whether the token was issued for this session (an AppRole sign-in), and so is revoked at sign-out.
        let revokeAtSignOut: Bool

        /// The token, for a request to the Gate (which takes it as text).
        var tokenText: String { String(decoding: token.bytes.withUnsafeBytes { Array($0) }, as: UTF8.self) }
    }

    public let idle: TimeInterval
    public let absolute: TimeInterval
    private let key = SecureHandle(SecureBytes.random(count: 32))
    private let sessions = Locked<[String: Session]>([:])

    public init(idle: TimeInterval = 15 * 60, absolute: TimeInterval = 8 * 3600) {
        self.idle = idle
        self.absolute = absolute
    }

    /// Starts a session for `token`; returns the cookie value (64 hex digits) and the CSRF token.
    func start(token: String, displayName: String, revokeAtSignOut: Bool = false, now: Date = Date()) -> (cookie: String, csrf: String) {
        let cookie = Hex.encode(Random.bytes(32))
        let csrf = Hex.encode(Random.bytes(32))
        let session = Session(
            token: SecureHandle(SecureBytes(copying: Array(token.utf8))), csrf: csrf, displayName: displayName, created: now,
            lastSeen: now, revokeAtSignOut: revokeAtSignOut)
        let id = identifier(cookie)
        sessions.withLock { $0[id] = session }
        return (cookie, csrf)
    }

    /// The live session the cookie names, its last use moved to `now`; nil when unknown or expired (an expired
    /// one stays until ``removeExpired(now:)`` hands it over, so that a token issued for it can be revoked).
    func session(cookie: String, now: Date = Date()) -> Session? {
        let id = identifier(cookie)
        return sessions.withLock { table in
            guard var session = table[id], isAlive(session, now: now) else { return nil }
            session.lastSeen = now
            table[id] = session
            return session
        }
    }

    /// Removes the sessions that timed out and returns them: the caller revokes the tokens issued for them
    /// (``Session/revokeAtSignOut``). Called on every console request, so the table is bounded by the sessions
    /// alive plus those that ended since the last request.
    func removeExpired(now: Date = Date()) -> [Session] {
        sessions.withLock { table in
            let expired = table.filter { !isAlive($0.value, now: now) }
            for key in expired.keys { table[key] = nil }
            return Array(expired.values)
        }
    }

    private func isAlive(_ session: Session, now: Date) -> Bool {
        now.timeIntervalSince(session.lastSeen) < idle && now.timeIntervalSince(session.created) < absolute
    }

    /// Ends the session the cookie names.
    func end(cookie: String) {
        let id = identifier(cookie)
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    /// Sessions alive now (tests and the overview).
    var count: Int { sessions.withLock { $0.count } }

    private func identifier(_ cookie: String) -> String {
        var bytes = Array(cookie.utf8)
        defer { Wipe.bytes(&bytes) }
        return bytes.withUnsafeBytes { HMACSHA256.hex($0, key: key.bytes) }
    }

    /// Whether two secrets (CSRF tokens) are equal, in constant time for equal lengths.
    static func equal(_ a: String, _ b: String) -> Bool {
        let (left, right) = (Array(a.utf8), Array(b.utf8))
        guard left.count == right.count, !left.isEmpty else { return false }
        return SecureBytes(copying: left).constantTimeEquals(SecureBytes(copying: right))
    }
}
