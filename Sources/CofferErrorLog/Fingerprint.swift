import CofferCrypto
import Foundation

/// How events group into issues: the error type and the top frames of the stack, normalised so that a line
/// number, an address or an id does not split one bug into many (Sentry's default grouping, simplified).
/// A caller's fingerprint replaces it.
enum Fingerprint {
    static func of(_ event: ErrorEvent) -> String {
        if let custom = event.fingerprint, !custom.isEmpty {
            return SHA256.hex(Array(("custom\n" + custom.joined(separator: "\n")).utf8))
        }
        let frames = topFrames(event.stackTrace)
        let basis = frames.isEmpty ? normalise(event.message) : frames.joined(separator: "\n")
        return SHA256.hex(Array("\(event.errorType)\n\(basis)".utf8))
    }

    /// The innermost three frames: Python's `File "…", line N, in f` (innermost last), `at …` frames
    /// (Java, JavaScript, Swift; innermost first), or else the first lines, each without line numbers.
    static func topFrames(_ stack: String) -> [String] {
        let lines = stack.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let python = lines.compactMap(pythonFrame)
        if !python.isEmpty { return Array(python.suffix(3)) }
        let at = lines.filter { $0.hasPrefix("at ") }
        if !at.isEmpty { return at.prefix(3).map { normalise(stripLocation($0)) } }
        return lines.prefix(3).map(normalise)
    }

    /// `File "/srv/app/payments.py", line 42, in charge` → `payments.py:charge`.
    static func pythonFrame(_ line: String) -> String? {
        guard line.hasPrefix("File \""), let close = line.dropFirst(6).firstIndex(of: "\"") else { return nil }
        let path = String(line[line.index(line.startIndex, offsetBy: 6)..<close])
        let function = line.range(of: ", in ").map { String(line[$0.upperBound...]) } ?? "?"
        return "\((path as NSString).lastPathComponent):\(function)"
    }

    /// `at pay (/srv/app.js:10:5)` → `at pay`; `at com.x.Pay.charge(Pay.java:42)` → `at com.x.Pay.charge`.
    static func stripLocation(_ line: String) -> String {
        if let open = line.firstIndex(of: "(") { return String(line[..<open]).trimmingCharacters(in: .whitespaces) }
        return line
    }

    /// Numbers → `<n>`, hex addresses → `<hex>`, quoted text → `<s>`.
    static func normalise(_ text: String) -> String {
        var out = ""
        var characters = Array(text)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character == "0", index + 1 < characters.count, characters[index + 1] == "x" {
                var end = index + 2
                while end < characters.count, characters[end].isHexDigit { end += 1 }
                out += "<hex>"
                index = end
            } else if character.isNumber {
                while index < characters.count, characters[index].isNumber || characters[index] == "." { index += 1 }
                out += "<n>"
            } else if character == "'" || character == "\"" {
                var end = index + 1
                while end < characters.count, characters[end] != character { end += 1 }
                out += "<s>"
                index = min(end + 1, characters.count)
            } else {
                out.append(character)
                index += 1
            }
        }
        characters.removeAll()
        return out
    }
}
