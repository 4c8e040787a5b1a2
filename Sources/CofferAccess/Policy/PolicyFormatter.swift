import Foundation

/// `coffer policy fmt`: one layout for policy files, so reviews show only real changes.
///
/// HCL keeps its comments and blank lines (runs collapsed to one); blocks are indented by two spaces,
/// `=` has one space on each side, list items one space after each comma. JSON policies are printed with
/// sorted keys and two-space indentation. A policy that does not parse is refused, with its line and column.
public enum PolicyFormatter {
    public static func format(_ text: String, name: String) throws -> String {
        _ = try PolicyParser.parse(name: name, text: text)
        let text = lineFeedsOnly(text)
        if text.drop(while: { $0.isWhitespace }).first == "{" {
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self) + "\n"
        }
        var output: [String] = []
        var depth = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty {
                if output.last?.isEmpty == false { output.append("") }
                continue
            }
            let (code, opens, closes, leadingCloses) = normalise(line)
            let indent = max(0, depth - leadingCloses)
            output.append(String(repeating: "  ", count: indent) + code)
            depth = max(0, depth + opens - closes)
        }
        while output.last?.isEmpty == true { output.removeLast() }
        return output.joined(separator: "\n") + "\n"
    }

    /// `text` with `\r\n` and `\r` line ends (and a leading byte-order mark) turned into what the formatter
    /// writes, `\n`. Done over bytes: `Character` holds `\r\n` as one, so splitting on `"\n"` never splits it.
    static func lineFeedsOnly(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var bytes = text.utf8[...]
        if bytes.starts(with: [0xef, 0xbb, 0xbf]) { bytes = bytes.dropFirst(3) }
        var previous: UInt8 = 0
        for byte in bytes {
            defer { previous = byte }
            if byte == UInt8(ascii: "\n"), previous == UInt8(ascii: "\r") { continue }
            out.append(byte == UInt8(ascii: "\r") ? UInt8(ascii: "\n") : byte)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The line with spacing normalised outside strings and comments, and its bracket counts.
    private static func normalise(_ line: String) -> (String, opens: Int, closes: Int, leadingCloses: Int) {
        var out = ""
        var opens = 0, closes = 0, leadingCloses = 0
        var inString = false, escaped = false, sawCode = false
        var iterator = Array(line)
        var index = 0
        func trimTrailingSpace() { while out.last == " " { out.removeLast() } }
        while index < iterator.count {
            let character = iterator[index]
            index += 1
            if inString {
                out.append(character)
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { inString = false }
                continue
            }
            switch character {
            case "\"":
                inString = true
                out.append(character)
            case "#":
                trimTrailingSpace()
                out += (out.isEmpty ? "" : " ") + String(iterator[(index - 1)...])
                index = iterator.count
            case "/" where index < iterator.count && iterator[index] == "/":
                trimTrailingSpace()
                out += (out.isEmpty ? "" : " ") + String(iterator[(index - 1)...])
                index = iterator.count
            case "{", "[":
                opens += 1
                if character == "{", !out.isEmpty, out.last != " " { out.append(" ") }
                out.append(character)
            case "}", "]":
                closes += 1
                if !sawCode { leadingCloses += 1 }
                trimTrailingSpace()
                out.append(character)
            case "=":
                trimTrailingSpace()
                out += " = "
            case ",":
                trimTrailingSpace()
                out += ", "
            case " ", "\t":
                if !out.isEmpty && out.last != " " && out.last != "[" { out.append(" ") }
            default:
                out.append(character)
            }
            if character != "}" && character != "]" && character != " " && character != "\t" { sawCode = true }
        }
        iterator = []
        trimTrailingSpace()
        return (out, opens, closes, leadingCloses)
    }
}
