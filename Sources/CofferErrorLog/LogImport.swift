import CofferCrypto
import CofferFoundation
import Foundation

/// Reads existing log files into error events — the seed's "log files → error_logs" migration: Python
/// tracebacks in text logs (with the log line before them for time, level and logger), `ERROR`/`CRITICAL`
/// lines without one, and JSON-lines logs. Every event gets a source id from its text and how many times
/// that text came before it in the file, so importing a file again (or a longer copy of it) stores nothing twice.
public enum LogImport {
    /// The file's format.
    public enum Format: String, Sendable, CaseIterable {
        case python, jsonl
    }

    /// Defaults for what a line does not say.
    public struct Defaults: Sendable {
        public var component: String
        public var release: String?
        public var host: String

        public init(component: String = "import", release: String? = nil, host: String = "") {
            self.component = component
            self.release = release
            self.host = host
        }
    }

    /// `jsonl` when the first non-empty line is a JSON object, else `python`.
    public static func detect(_ text: String) -> Format {
        let first = text.split(separator: "\n").first { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        return first?.trimmingCharacters(in: .whitespaces).hasPrefix("{") == true ? .jsonl : .python
    }

    /// The events in `text`.
    /// - Throws: ``SuiteError`` `.invalid` for a JSON-lines line that is not a JSON object (with its line number).
    public static func events(_ text: String, format: Format, defaults: Defaults) throws -> [ErrorEvent] {
        var seen: [String: Int] = [:]
        func sourceID(_ block: String) -> String {
            let occurrence = seen[block, default: 0]
            seen[block] = occurrence + 1
            return "import:" + SHA256.hex(Array("\(occurrence)\n\(block)".utf8)).prefix(40)
        }
        switch format {
        case .jsonl: return try jsonLines(text, defaults: defaults, sourceID: sourceID)
        case .python: return python(text, defaults: defaults, sourceID: sourceID)
        }
    }

    // MARK: Python text logs

    static func python(_ text: String, defaults: Defaults, sourceID: (String) -> String) -> [ErrorEvent] {
        let lines = text.components(separatedBy: "\n")
        var events: [ErrorEvent] = []
        var index = 0
        var previous: String?
        while index < lines.count {
            let line = lines[index]
            if line.hasPrefix("Traceback (most recent call last):") {
                // The block runs through indented frame lines and chained tracebacks to the exception line.
                var block = [line]
                index += 1
                while index < lines.count {
                    let next = lines[index]
                    block.append(next)
                    index += 1
                    let chained =
                        next.hasPrefix("During handling of the above exception")
                        || next.hasPrefix("The above exception was the direct cause")
                    if chained || next.hasPrefix("Traceback (most recent call last):") || next.isEmpty { continue }
                    if !next.hasPrefix(" ") && !next.hasPrefix("\t") {
                        // Chained exceptions: an exception line followed by a blank line and another traceback.
                        if index + 1 < lines.count, lines[index].isEmpty,
                            lines[index + 1].hasPrefix("During handling") || lines[index + 1].hasPrefix("The above exception")
                        {
                            continue
                        }
                        break
                    }
                }
                let exception =
                    block.last { !$0.isEmpty && !$0.hasPrefix(" ") && !$0.hasPrefix("\t") && !$0.hasPrefix("Traceback") } ?? "Exception"
                let (type, message) = splitException(exception)
                var event = ErrorEvent(
                    component: defaults.component, severity: .error, message: message.isEmpty ? type : message, errorType: type,
                    stackTrace: block.joined(separator: "\n"), release: defaults.release, host: defaults.host)
                if let previous, let header = LogLine(previous) { header.apply(to: &event, keepMessage: true) }
                event.sourceID = sourceID((previous ?? "") + "\n" + block.joined(separator: "\n"))
                events.append(event)
                previous = nil
                continue
            }
            // A line whose traceback follows is read with it; an error line on its own is an event.
            let next = index + 1 < lines.count ? lines[index + 1] : ""
            if !next.hasPrefix("Traceback (most recent call last):"), let header = LogLine(line), header.severity >= .error {
                var event = ErrorEvent(
                    component: defaults.component, severity: header.severity, message: header.message, errorType: "LogRecord",
                    release: defaults.release, host: defaults.host)
                header.apply(to: &event, keepMessage: false)
                event.sourceID = sourceID(line)
                events.append(event)
            }
            previous = line.isEmpty ? previous : line
            index += 1
        }
        return events
    }

    /// `payments.errors.CardDeclined: card 4242 declined` → (`payments.errors.CardDeclined`, `card 4242 declined`).
    static func splitException(_ line: String) -> (String, String) {
        guard let colon = line.range(of: ": ") else { return (line.trimmingCharacters(in: .whitespaces), "") }
        return (String(line[..<colon.lowerBound]), String(line[colon.upperBound...]))
    }

    /// A log line's header: `2026-11-25 12:00:00,123 ERROR payments: message` or
    /// `[2026-11-25T12:00:00Z] [ERROR] [payments] message`.
    struct LogLine {
        let time: Date?
        let severity: Severity
        let component: String?
        let message: String

        init?(_ line: String) {
            var words = line.split(separator: " ", omittingEmptySubsequences: true).map {
                String($0).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            }
            var time: Date?
            if words.count >= 2, let date = Self.parseTime(words[0] + " " + words[1]) {
                time = date
                words.removeFirst(2)
            } else if let first = words.first, let date = Self.parseTime(first) {
                time = date
                words.removeFirst()
            }
            guard
                let levelIndex = words.prefix(3).firstIndex(where: {
                    Severity(loose: $0.trimmingCharacters(in: CharacterSet(charactersIn: ":"))) != nil
                }),
                let severity = Severity(loose: words[levelIndex].trimmingCharacters(in: CharacterSet(charactersIn: ":")))
            else { return nil }
            self.time = time
            self.severity = severity
            var rest = Array(words[(levelIndex + 1)...])
            if let first = rest.first, first.hasSuffix(":") || line.contains("[\(first)]") {
                component = first.trimmingCharacters(in: CharacterSet(charactersIn: ":"))
                rest.removeFirst()
            } else {
                component = nil
            }
            message = rest.joined(separator: " ")
        }

        func apply(to event: inout ErrorEvent, keepMessage: Bool) {
            if let time { event.occurredAt = time }
            event.severity = max(event.severity, severity)
            if let component, !component.isEmpty { event.component = component }
            if !keepMessage && !message.isEmpty { event.message = message }
            if keepMessage, !message.isEmpty { event.context["log_message"] = .string(message) }
        }

        static func parseTime(_ text: String) -> Date? {
            var text = text.replacingOccurrences(of: ",", with: ".")
            if text.count >= 19, text[text.index(text.startIndex, offsetBy: 10)] == " " {
                text.replaceSubrange(text.index(text.startIndex, offsetBy: 10)...text.index(text.startIndex, offsetBy: 10), with: "T")
            }
            guard text.count >= 19, text.first?.isNumber == true else { return nil }
            if !(text.hasSuffix("Z") || text.dropFirst(19).contains("+") || text.dropFirst(19).contains("-")) { text += "Z" }
            return (try? Date(text, strategy: .iso8601))
                ?? (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        }
    }

    // MARK: JSON lines

    static func jsonLines(_ text: String, defaults: Defaults, sourceID: (String) -> String) throws -> [ErrorEvent] {
        var events: [ErrorEvent] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            guard let object = try? JSONDecoder().decode([String: JSONValue].self, from: Data(trimmed.utf8)) else {
                throw SuiteError(.invalid, "line \(number + 1) is not a JSON object; nothing was imported")
            }
            func string(_ keys: String...) -> String? {
                for key in keys {
                    switch object[key] {
                    case .string(let value)?: return value
                    case .integer(let value)?: return String(value)
                    case .number(let value)?: return String(value)
                    default: continue
                    }
                }
                return nil
            }
            let consumed: Set = [
                "message", "msg", "level", "severity", "levelname", "error_type", "exc_type", "stack_trace", "exc_info", "traceback",
                "stack", "component", "logger", "name", "time", "timestamp", "asctime", "@timestamp", "release", "version", "host",
                "hostname",
                "fingerprint"
            ]
            let stack = string("stack_trace", "exc_info", "traceback", "stack") ?? ""
            var type = string("error_type", "exc_type") ?? ""
            if type.isEmpty, let last = stack.split(separator: "\n").last(where: { !$0.hasPrefix(" ") }), stack.hasPrefix("Traceback") {
                type = splitException(String(last)).0
            }
            let severity = string("severity", "level", "levelname").flatMap(Severity.init(loose:)) ?? .error
            // An error log holds errors: informational lines without a stack stay in the log file.
            guard severity >= .warning || !stack.isEmpty else { continue }
            var time: Date?
            if let seconds = object["time"] ?? object["timestamp"], case .number(let value) = seconds {
                time = Date(timeIntervalSince1970: value)
            } else if let seconds = object["time"] ?? object["timestamp"], case .integer(let value) = seconds {
                time = Date(timeIntervalSince1970: Double(value))
            } else if let text = string("time", "timestamp", "@timestamp", "asctime") {
                time = LogLine.parseTime(text)
            }
            // A time no calendar holds (a corrupt line) is dropped: the event keeps the time it was received.
            if let parsed = time, !parsed.isStorable { time = nil }
            var fingerprint: [String]?
            if case .array(let parts)? = object["fingerprint"] {
                fingerprint = parts.compactMap { if case .string(let s) = $0 { s } else { nil } }
            }
            events.append(
                ErrorEvent(
                    component: string("component", "logger", "name") ?? defaults.component, severity: severity,
                    message: string("message", "msg") ?? type, errorType: type.isEmpty ? "LogRecord" : type, stackTrace: stack,
                    context: object.filter { !consumed.contains($0.key) }, release: string("release", "version") ?? defaults.release,
                    host: string("host", "hostname") ?? defaults.host, occurredAt: time, fingerprint: fingerprint,
                    sourceID: sourceID(trimmed)))
        }
        return events
    }
}
