import CofferErrorLog
import CofferFoundation
import CofferTesting
import Foundation
import Testing

/// Log import without a server: Python tracebacks and JSON lines become events, and a line that does not parse
/// is refused by its number.
struct LogImportTests {
    @Test func importsPythonTracebacksAndJSONLines() throws {
        let python = """
            2026-11-25 12:00:00,123 INFO [payments] started
            2026-11-25 12:00:01,500 ERROR [payments] charge failed
            \(SampleLogs.pythonTraceback(line: 10))
            2026-11-25 12:00:02,000 CRITICAL db: connection refused
            2026-11-25 12:00:03,000 ERROR [payments] charge failed
            \(SampleLogs.pythonTraceback(line: 10))
            """
        let events = try LogImport.events(python, format: LogImport.detect(python), defaults: .init(component: "seed", release: "1.0.0"))
        #expect(events.count == 3)
        #expect(
            events[0].errorType == "payments.CardDeclined" && events[0].message == "card 4242 declined" && events[0].component == "payments"
        )
        #expect(events[0].occurredAt.map { $0.timeIntervalSince1970.truncatingRemainder(dividingBy: 60) } == 1.5)
        #expect(events[0].stackTrace.contains("payments.py") && events[0].release == "1.0.0")
        #expect(events[1].severity == .critical && events[1].component == "db" && events[1].message == "connection refused")
        // The same block twice in one file: two events with different source ids; the file again: the same ids.
        #expect(events[0].sourceID != events[2].sourceID)
        #expect(try LogImport.events(python, format: .python, defaults: .init()).map(\.sourceID) == events.map(\.sourceID))

        let lines = """
            {"time": "2026-11-25T12:00:00Z", "level": "error", "logger": "worker", "message": "job 7 failed", "exc_type": \
            "KeyError", "job": 7}
            {"time": 1764072000, "level": "info", "logger": "worker", "message": "job 8 done"}
            {"timestamp": "2026-11-25T12:00:05Z", "levelname": "WARNING", "name": "worker", "msg": "slow job", "release": "2.0.0"}
            """
        let parsed = try LogImport.events(lines, format: LogImport.detect(lines), defaults: .init())
        #expect(parsed.count == 2, "info lines without a stack are not errors")
        #expect(parsed[0].errorType == "KeyError" && parsed[0].component == "worker" && parsed[0].context["job"] == .integer(7))
        #expect(parsed[1].severity == .warning && parsed[1].release == "2.0.0")
        #expect(throws: SuiteError.self) { try LogImport.events("{\"a\": 1}\nnot json\n", format: .jsonl, defaults: .init()) }
    }
}
