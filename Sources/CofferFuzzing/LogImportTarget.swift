import CofferErrorLog
import Foundation

/// Log files imported as error events: Python tracebacks in text logs, JSON lines.
enum LogImportTarget {
    static let target = FuzzTarget(
        "log-import",
        "log files (Python tracebacks, JSON lines) in both formats: events or a refusal naming the line; importing "
            + "the same text twice gives the same source ids (re-import stores nothing twice)"
    ) { input throws(FuzzFinding) in
        let text = input.text
        _ = LogImport.detect(text)
        for format in LogImport.Format.allCases {
            guard let events = try? LogImport.events(text, format: format, defaults: .init()) else { continue }
            let again = (try? LogImport.events(text, format: format, defaults: .init())) ?? []
            try require(
                events.map(\.sourceID) == again.map(\.sourceID), "\(format): the same text gave different source ids")
            try require(Set(events.map(\.sourceID)).count == events.count, "\(format): two events share a source id")
        }
    }
}
