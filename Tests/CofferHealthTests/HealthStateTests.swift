import CofferFoundation
import CofferHealth
import Foundation
import Testing

/// Health without a server: thresholds, flap detection and availability against hand-computed cases, and the
/// checks file refusing what does not parse.
struct HealthStateTests {
    @Test func thresholdsMoveTheState() {
        var state = (status: HealthStatus.passing, failures: 0, successes: 0)
        func step(_ result: HealthStatus) {
            state = HealthMath.next(
                status: state.status, failures: state.failures, successes: state.successes, result: result, failAfter: 3, passAfter: 2)
        }
        step(.critical)
        step(.critical)
        #expect(state.status == .passing && state.failures == 2, "two failures are not yet three")
        step(.critical)
        #expect(state.status == .critical)
        step(.passing)
        #expect(state.status == .critical, "one pass is not yet two")
        step(.critical)
        step(.passing)
        step(.passing)
        #expect(state.status == .passing && state.successes == 2)
        step(.warning)
        #expect(state.status == .warning, "a warning shows at once")
    }

    @Test func flapDetectionWeighsRecentChangesMore() {
        let alternating = (0..<21).map { $0 % 2 == 0 ? HealthStatus.passing : .critical }
        #expect(abs(HealthMath.percentStateChange(alternating) - 100) < 1e-9)
        let newestChange = Array(repeating: HealthStatus.passing, count: 20) + [.critical]
        #expect(abs(HealthMath.percentStateChange(newestChange) - 6) < 1e-9, "the newest change weighs 1.2 of 20")
        let oldestChange = [HealthStatus.critical] + Array(repeating: .passing, count: 20)
        #expect(abs(HealthMath.percentStateChange(oldestChange) - 4) < 1e-9, "the oldest weighs 0.8 of 20")
        // Seven changes in the newest results: 0.8 + i·0.4/19 for i = 13…19: between the thresholds (hysteresis).
        let seven =
            Array(repeating: HealthStatus.passing, count: 14) + [.critical, .passing, .critical, .passing, .critical, .passing, .critical]
        let percent = HealthMath.percentStateChange(seven)
        #expect(percent >= 25 && percent < 50, "\(percent)")
        #expect(HealthMath.flapping(was: true, results: seven) && !HealthMath.flapping(was: false, results: seven))
        #expect(HealthMath.flapping(was: false, results: alternating) && !HealthMath.flapping(was: true, results: newestChange))
    }

    @Test func availabilityLeavesOutMaintenanceAndTheCheckersOutage() {
        let t0 = Date(timeIntervalSince1970: 1_000_000)
        func at(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }
        // Interval 600 s: a result holds for at most 1,200 s. 0–600 up, 600–1200 down, 1200–2400 up, 2400–3000
        // unobserved (the checker was not running), 3000–3600 up: 3,000 s observed, 600 down: 80%.
        let results: [(Date, HealthStatus)] = [(at(0), .passing), (at(600), .critical), (at(1200), .passing), (at(3000), .passing)]
        let plain = HealthMath.availability(results: results, maintenance: [], from: t0, to: at(3600), interval: 600)
        #expect(plain.observed == 3000 && plain.down == 600 && plain.percent == 80)
        // Maintenance 600–900 (and an overlapping 700–800): 300 s less of both: 2,400 up of 2,700.
        let maintained = HealthMath.availability(
            results: results, maintenance: [(at(600), at(900)), (at(700), at(800))], from: t0, to: at(3600), interval: 600)
        #expect(maintained.observed == 2700 && maintained.down == 300)
        #expect(abs((maintained.percent ?? 0) - 2400.0 / 2700 * 100) < 1e-9)
        #expect(HealthMath.availability(results: [], maintenance: [], from: t0, to: at(60), interval: 60).percent == nil)
    }

    @Test func checksFileRefusesWhatDoesNotParse() {
        #expect(throws: SuiteError.self) { try HealthChecksFile.parse(Data("{\"checks\": [{\"name\": \"x\"}]}".utf8)) }
        #expect(throws: SuiteError.self) {
            try HealthChecksFile.parse(Data("{\"checks\": [{\"name\": \"x\", \"component\": \"c\", \"type\": \"smoke-signal\"}]}".utf8))
        }
        #expect(throws: SuiteError.self) {
            try HealthChecksFile.parse(
                Data("{\"checks\": [{\"name\": \"x\", \"component\": \"c\", \"type\": \"tcp\", \"host\": \"h\", \"port\": 70000}]}".utf8))
        }
        #expect(throws: SuiteError.self) {
            try HealthChecksFile.parse(
                Data("{\"checks\": [{\"name\": \"x\", \"component\": \"c\", \"type\": \"http\", \"url\": \"https://x\"}]}".utf8))
        }
        #expect(throws: SuiteError.self) { try HealthChecksFile.parse(Data("not json".utf8)) }
    }
}
