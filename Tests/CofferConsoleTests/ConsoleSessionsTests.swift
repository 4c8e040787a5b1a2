import Foundation
import PropertyBased
import Testing

@testable import CofferConsole

/// Console sessions: the idle and absolute timeouts end a session however it is used, sign-out ends it, a cookie
/// value that is not exactly the one issued names nothing, and the CSRF comparison is exact.
@Suite struct ConsoleSessionsTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func idleTimeoutEndsASessionLeftAlone() {
        let sessions = ConsoleSessions(idle: 900, absolute: 8 * 3600)
        let (cookie, csrf) = sessions.start(token: "hvs.example", displayName: "ops", now: Self.start)
        let found = sessions.session(cookie: cookie, now: Self.start.addingTimeInterval(899))
        #expect(found?.csrf == csrf && found?.tokenText == "hvs.example" && found?.displayName == "ops")
        // The use at 899 s moved the idle clock: 899 s after it the session is alive, 900 s after it not.
        #expect(sessions.session(cookie: cookie, now: Self.start.addingTimeInterval(899 + 899)) != nil)
        #expect(sessions.session(cookie: cookie, now: Self.start.addingTimeInterval(899 + 899 + 900)) == nil)
        // It stays until the sweep hands it over (its issued token, if any, is then revoked), and only then.
        #expect(sessions.removeExpired(now: Self.start.addingTimeInterval(899 + 899 + 899)).isEmpty && sessions.count == 1)
        #expect(sessions.removeExpired(now: Self.start.addingTimeInterval(899 + 899 + 900)).map(\.tokenText) == ["hvs.example"])
        #expect(sessions.count == 0)
    }

    @Test func absoluteTimeoutEndsASessionInConstantUse() {
        let sessions = ConsoleSessions(idle: 900, absolute: 3600)
        let (cookie, _) = sessions.start(token: "hvs.example", displayName: "ops", now: Self.start)
        for minute in stride(from: 5, to: 60, by: 5) {
            #expect(sessions.session(cookie: cookie, now: Self.start.addingTimeInterval(Double(minute * 60))) != nil, "minute \(minute)")
        }
        #expect(sessions.session(cookie: cookie, now: Self.start.addingTimeInterval(3600)) == nil)
    }

    @Test func signOutEndsOnlyThatSession() {
        let sessions = ConsoleSessions()
        let (first, _) = sessions.start(token: "one", displayName: "a", now: Self.start)
        let (second, _) = sessions.start(token: "two", displayName: "b", revokeAtSignOut: true, now: Self.start)
        sessions.end(cookie: first)
        #expect(sessions.session(cookie: first, now: Self.start) == nil)
        let other = sessions.session(cookie: second, now: Self.start)
        #expect(other?.tokenText == "two" && other?.revokeAtSignOut == true)
    }

    @Test func theSweepHandsOverEveryExpiredSessionOnce() {
        let sessions = ConsoleSessions(idle: 60, absolute: 3600)
        for index in 0..<50 {
            _ = sessions.start(token: "t\(index)", displayName: "", revokeAtSignOut: index.isMultiple(of: 2), now: Self.start)
        }
        let (late, _) = sessions.start(token: "late", displayName: "", now: Self.start.addingTimeInterval(30))
        let ended = sessions.removeExpired(now: Self.start.addingTimeInterval(61))
        #expect(Set(ended.map(\.tokenText)) == Set((0..<50).map { "t\($0)" }) && ended.filter(\.revokeAtSignOut).count == 25)
        #expect(sessions.removeExpired(now: Self.start.addingTimeInterval(61)).isEmpty, "handed over once")
        #expect(sessions.count == 1 && sessions.session(cookie: late, now: Self.start.addingTimeInterval(61)) != nil)
    }

    /// Any change to an issued cookie value (a character changed, case changed, cut, extended) names no session.
    @Test func onlyTheExactCookieNamesTheSession() async {
        let sessions = ConsoleSessions()
        let (cookie, _) = sessions.start(token: "hvs.example", displayName: "ops", now: Self.start)
        let cookieLength = cookie.count
        await propertyCheck(count: 200, input: Gen<Int>.int(in: 0...3), Gen<Int>.int(in: 0..<cookieLength)) { change, at in
            var bytes = Array(cookie.utf8)
            switch change {
            case 0: bytes[at] = bytes[at] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            case 1: bytes = Array(cookie.uppercased().utf8)
            case 2: bytes = Array(bytes.prefix(at))
            default: bytes.insert(UInt8(ascii: "a"), at: at)
            }
            let forged = String(decoding: bytes, as: UTF8.self)
            guard forged != cookie else { return }
            #expect(sessions.session(cookie: forged, now: Self.start) == nil, "\(forged)")
        }
        #expect(sessions.session(cookie: cookie, now: Self.start) != nil)
    }

    @Test func csrfComparisonIsExact() async {
        let text = Gen<UInt8>.uint8(in: 97...102).array(of: 0...40).map { String(decoding: $0, as: UTF8.self) }
        await propertyCheck(count: 300, input: text, text, Gen<Bool>.bool) { left, other, same in
            // Half the cases compare a value with itself (the only ones that may be equal), half with another.
            let right = same ? left : other
            #expect(ConsoleSessions.equal(left, right) == (left == right && !left.isEmpty))
        }
    }
}
