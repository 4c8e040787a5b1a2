import CofferFoundation
public import Foundation

/// Prometheus' text exposition format (version 0.0.4) as input: `name{label="value",…} value [timestamp_ms]`
/// lines, `#` comments and blank lines skipped, label values with `\\`, `\"` and `\n` escapes.
public enum PrometheusText {
    /// The points in `text`.
    /// - Throws: ``SuiteError`` `.invalid` naming the first bad line.
    public static func parse(_ text: String, defaultTime: Date? = nil) throws -> [MetricPoint] {
        var points: [MetricPoint] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            do {
                points.append(try parseLine(Array(line.unicodeScalars), defaultTime: defaultTime))
            } catch let error as SuiteError {
                throw SuiteError(.invalid, "line \(number + 1): \(error.message); nothing was ingested")
            }
        }
        return points
    }

    private static func parseLine(_ scalars: [Unicode.Scalar], defaultTime: Date?) throws -> MetricPoint {
        var index = 0
        var name = ""
        while index < scalars.count, scalars[index] != "{", scalars[index] != " ", scalars[index] != "\t" {
            name.unicodeScalars.append(scalars[index])
            index += 1
        }
        // Checked here as well as at ingest, so a bad name in a text body is refused with its line number.
        guard PrometheusName.isMetric(name) else {
            throw SuiteError(
                .invalid, name.isEmpty ? "no metric name" : "\(name) is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
        }
        var labels: [String: String] = [:]
        if index < scalars.count, scalars[index] == "{" {
            index += 1
            while true {
                while index < scalars.count, scalars[index] == " " || scalars[index] == "," { index += 1 }
                guard index < scalars.count else { throw SuiteError(.invalid, "the label set is not closed") }
                if scalars[index] == "}" {
                    index += 1
                    break
                }
                var label = ""
                while index < scalars.count, scalars[index] != "=" {
                    label.unicodeScalars.append(scalars[index])
                    index += 1
                }
                guard index + 1 < scalars.count, scalars[index + 1] == "\"" else {
                    throw SuiteError(.invalid, "a label value must be quoted")
                }
                index += 2
                var value = ""
                while true {
                    guard index < scalars.count else { throw SuiteError(.invalid, "a label value is not closed") }
                    let scalar = scalars[index]
                    if scalar == "\\", index + 1 < scalars.count {
                        let next = scalars[index + 1]
                        value.unicodeScalars.append(next == "n" ? "\n" : next)
                        index += 2
                    } else if scalar == "\"" {
                        index += 1
                        break
                    } else {
                        value.unicodeScalars.append(scalar)
                        index += 1
                    }
                }
                let labelName = label.trimmingCharacters(in: .whitespaces)
                guard PrometheusName.isLabel(labelName) else {
                    throw SuiteError(.invalid, "\(labelName) is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not __…)")
                }
                labels[labelName] = value
            }
        }
        let rest = String(String.UnicodeScalarView(scalars[index...])).split(separator: " ", omittingEmptySubsequences: true)
        guard let valueText = rest.first else { throw SuiteError(.invalid, "no value") }
        let value: Double
        switch valueText {
        case "NaN": value = .nan
        case "+Inf", "Inf": value = .infinity
        case "-Inf": value = -.infinity
        default:
            guard let parsed = Double(valueText) else { throw SuiteError(.invalid, "the value \(valueText) is not a number") }
            value = parsed
        }
        var timestamp = defaultTime
        if rest.count > 1 {
            guard let milliseconds = Int64(rest[1]) else { throw SuiteError(.invalid, "the timestamp must be integer milliseconds") }
            let time = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            guard time.isStorable else { throw SuiteError(.invalid, "the timestamp is outside the years 1 to 9999") }
            timestamp = time
        }
        return MetricPoint(name: name, labels: labels, value: value, timestamp: timestamp)
    }
}
