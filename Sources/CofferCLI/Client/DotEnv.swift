import Foundation

/// Reads dotenv files with the quoting rules of the common tools (docker compose, python-dotenv):
/// `KEY=value`, an optional `export ` before the key, `#` comments on their own line or after an unquoted
/// value, `'single'` quotes kept literally, `"double"` quotes with `\n`, `\t`, `\"`, `\\` escapes and values
/// that span lines.
enum DotEnv {
    struct ParseError: Error, CustomStringConvertible {
        let line: Int
        let reason: String
        // Never the value: a dotenv file holds secrets.
        var description: String { "line \(line): \(reason)" }
    }

    static func parse(_ text: String) throws -> [(key: String, value: String)] {
        var result: [(String, String)] = []
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).map(
            String.init)
        var index = 0
        while index < lines.count {
            let number = index + 1
            var line = Substring(lines[index])
            index += 1
            line = line.drop(while: { $0 == " " || $0 == "\t" })
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = line.dropFirst(7).drop(while: { $0 == " " }) }
            guard let equals = line.firstIndex(of: "=") else { throw ParseError(line: number, reason: "expected KEY=value") }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-" }) else {
                throw ParseError(line: number, reason: "the key is not a variable name")
            }
            var rest = line[line.index(after: equals)...].drop(while: { $0 == " " || $0 == "\t" })
            var value = ""
            if rest.hasPrefix("'") {
                rest = rest.dropFirst()
                guard let close = rest.firstIndex(of: "'") else { throw ParseError(line: number, reason: "unclosed single quote") }
                value = String(rest[..<close])
            } else if rest.hasPrefix("\"") {
                rest = rest.dropFirst()
                var closed = false
                while !closed {
                    var escaped = false
                    for character in rest {
                        if escaped {
                            switch character {
                            case "n": value.append("\n")
                            case "t": value.append("\t")
                            case "r": value.append("\r")
                            default: value.append(character)
                            }
                            escaped = false
                        } else if character == "\\" {
                            escaped = true
                        } else if character == "\"" {
                            closed = true
                            break
                        } else {
                            value.append(character)
                        }
                    }
                    if !closed {
                        guard index < lines.count else { throw ParseError(line: number, reason: "unclosed double quote") }
                        value.append("\n")
                        rest = Substring(lines[index])
                        index += 1
                    }
                }
            } else {
                // Unquoted: a ` #` starts a comment; surrounding spaces go.
                if let hash = rest.range(of: " #") { rest = rest[..<hash.lowerBound] }
                value = rest.trimmingCharacters(in: .whitespaces)
            }
            result.append((key, value))
        }
        return result
    }
}
