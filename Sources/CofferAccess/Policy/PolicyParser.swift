import Foundation

/// Reads policies in Vault's policy language: the HCL subset real policies use, or its JSON form.
///
/// ```hcl
/// # read one subtree
/// path "secret/data/app/*" {
///   capabilities = ["read", "list"]
/// }
/// ```
/// Unknown keys, unknown capabilities and malformed text are refused with the line and column.
public enum PolicyParser {
    /// Parses `text` (HCL, or JSON when it starts with `{`) as the policy `name`.
    public static func parse(name: String, text: String) throws -> Policy {
        // A leading UTF-8 byte-order mark (editors on Windows write one) is not part of the policy.
        let text = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        let trimmed = text.drop { $0.isWhitespace }
        if trimmed.first == "{" { return try parseJSON(name: name, text: text) }
        var lexer = Lexer(text)
        var rules: [Policy.Rule] = []
        while let token = try lexer.next() {
            guard case .word("path") = token.kind else {
                throw PolicyError("\(name):\(token.location): expected path \"…\" { … }, found \(token.kind)")
            }
            guard let pathToken = try lexer.next(), case .string(let pathText) = pathToken.kind else {
                throw PolicyError("\(name):\(token.location): path needs a quoted pattern, as in path \"secret/*\" { … }")
            }
            let pattern: PathPattern
            do { pattern = try PathPattern(pathText) } catch let error as PolicyError {
                throw PolicyError("\(name):\(pathToken.location): \(error.description)")
            }
            try lexer.expect(.openBrace, after: "path \"\(pathText)\"", policy: name)
            var capabilities: Capabilities?
            var legacy: Capabilities?
            while true {
                guard let key = try lexer.next() else {
                    throw PolicyError("\(name): the block of path \"\(pathText)\" is not closed with }")
                }
                if case .closeBrace = key.kind { break }
                guard case .word(let keyName) = key.kind else {
                    throw PolicyError("\(name):\(key.location): expected a key such as capabilities, found \(key.kind)")
                }
                if keyName == "policy" {
                    // Vault's older syntax: one word standing for a set of capabilities.
                    guard legacy == nil else {
                        throw PolicyError("\(name):\(key.location): policy is given twice for path \"\(pathText)\"")
                    }
                    try lexer.expect(.equals, after: "policy", policy: name)
                    guard let value = try lexer.next(), case .string(let word) = value.kind else {
                        throw PolicyError("\(name):\(key.location): policy needs a quoted word: deny, read, write or sudo")
                    }
                    legacy = try Self.legacyCapabilities(word, path: pathText, policy: name, at: value.location)
                    continue
                }
                guard keyName == "capabilities" else {
                    throw PolicyError(
                        """
                        \(name):\(key.location): unknown key \"\(keyName)\" in path \"\(pathText)\": Coffer supports capabilities \
                        (and the older policy) only
                        """
                    )
                }
                guard capabilities == nil else {
                    throw PolicyError("\(name):\(key.location): capabilities is given twice for path \"\(pathText)\"")
                }
                try lexer.expect(.equals, after: "capabilities", policy: name)
                try lexer.expect(.openBracket, after: "capabilities =", policy: name)
                var set: Capabilities = []
                var expectValue = true
                while true {
                    guard let item = try lexer.next() else {
                        throw PolicyError("\(name): the capabilities list of path \"\(pathText)\" is not closed with ]")
                    }
                    if case .closeBracket = item.kind { break }
                    if case .comma = item.kind, !expectValue {
                        expectValue = true
                        continue
                    }
                    guard expectValue, case .string(let capabilityName) = item.kind else {
                        throw PolicyError("\(name):\(item.location): expected a quoted capability, found \(item.kind)")
                    }
                    guard let capability = Capabilities(name: capabilityName) else {
                        throw PolicyError(
                            """
                            \(name):\(item.location): unknown capability \"\(capabilityName)\": use \
                            \(Capabilities.names.map(\.0).joined(separator: ", "))
                            """
                        )
                    }
                    set.formUnion(capability)
                    expectValue = false
                }
                capabilities = set
            }
            capabilities = Self.combined(capabilities, legacy)
            guard let capabilities else { throw PolicyError("\(name):\(token.location): path \"\(pathText)\" has no capabilities") }
            rules.append(Policy.Rule(path: pattern, capabilities: capabilities, location: token.location))
        }
        return Policy(name: name, rules: rules)
    }

    /// Vault's older `policy = "…"` words and the capabilities each stands for (Vault's own mapping).
    static func legacyCapabilities(_ word: String, path: String, policy: String, at location: String) throws -> Capabilities {
        switch word {
        case "deny": return .deny
        case "read": return [.read, .list]
        case "write": return [.create, .read, .update, .delete, .list]
        case "sudo": return [.create, .read, .update, .delete, .list, .sudo]
        default: throw PolicyError("\(policy):\(location): invalid policy \"\(word)\" for path \"\(path)\": use deny, read, write or sudo")
        }
    }

    /// A block's capabilities with its older `policy` word merged in, as Vault merges them (`deny` wins alone).
    static func combined(_ capabilities: Capabilities?, _ legacy: Capabilities?) -> Capabilities? {
        guard let legacy else { return capabilities }
        if legacy.contains(.deny) { return .deny }
        return (capabilities ?? []).union(legacy)
    }

    /// The JSON form: `{"path": {"secret/*": {"capabilities": ["read"]}}}`.
    static func parseJSON(name: String, text: String) throws -> Policy {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw PolicyError("\(name): not a JSON object (write {\"path\": {\"secret/*\": {\"capabilities\": [\"read\"]}}})")
        }
        if let unknown = object.keys.first(where: { $0 != "path" }) {
            throw PolicyError("\(name): unknown key \"\(unknown)\": only path is supported")
        }
        guard let paths = object["path"] as? [String: Any] else {
            throw PolicyError("\(name): \"path\" must be an object of path patterns")
        }
        var rules: [Policy.Rule] = []
        for (pathText, value) in paths.sorted(by: { $0.key < $1.key }) {
            guard let block = value as? [String: Any] else { throw PolicyError("\(name): path \"\(pathText)\" must be an object") }
            if let unknown = block.keys.first(where: { $0 != "capabilities" && $0 != "policy" }) {
                throw PolicyError(
                    "\(name): unknown key \"\(unknown)\" in path \"\(pathText)\": Coffer supports capabilities (and the older policy) only")
            }
            var set: Capabilities?
            if let value = block["capabilities"] {
                guard let list = value as? [String] else {
                    throw PolicyError("\(name): path \"\(pathText)\" needs a capabilities list of strings")
                }
                var capabilities: Capabilities = []
                for capabilityName in list {
                    guard let capability = Capabilities(name: capabilityName) else {
                        throw PolicyError("\(name): unknown capability \"\(capabilityName)\" in path \"\(pathText)\"")
                    }
                    capabilities.formUnion(capability)
                }
                set = capabilities
            }
            let legacy = try (block["policy"]).map { value -> Capabilities in
                guard let word = value as? String else {
                    throw PolicyError("\(name): policy of path \"\(pathText)\" must be a string: deny, read, write or sudo")
                }
                return try Self.legacyCapabilities(word, path: pathText, policy: name, at: "path \"\(pathText)\"")
            }
            guard let capabilities = Self.combined(set, legacy) else {
                throw PolicyError("\(name): path \"\(pathText)\" needs a capabilities list of strings")
            }
            rules.append(Policy.Rule(path: try PathPattern(pathText), capabilities: capabilities, location: "path \"\(pathText)\""))
        }
        return Policy(name: name, rules: rules)
    }
}

/// Tokens of the HCL subset, with `line:column` locations. Comments: `#`, `//` and `/* … */`.
///
/// The lexer reads UTF-8 bytes, not `Character`s: Swift folds `\r\n` into one `Character`, so a lexer over
/// characters never saw the `\n` that ends a `#` comment in a CRLF file and dropped every rule after it.
/// Over bytes, `\n`, `\r\n` and `\r` each end a line, and a policy parses to the same rules whatever its
/// line ends.
struct Lexer {
    enum Kind: Equatable, CustomStringConvertible {
        case word(String), string(String), openBrace, closeBrace, openBracket, closeBracket, equals, comma

        var description: String {
            switch self {
            case .word(let word): "\(word)"
            case .string(let text): "\"\(text)\""
            case .openBrace: "{"
            case .closeBrace: "}"
            case .openBracket: "["
            case .closeBracket: "]"
            case .equals: "="
            case .comma: ","
            }
        }
    }

    struct Token {
        let kind: Kind
        let location: String
    }

    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var column = 1

    /// - Parameter text: without a byte-order mark (``PolicyParser/parse(name:text:)`` drops it).
    init(_ text: String) {
        bytes = Array(text.utf8)
    }

    mutating func expect(_ kind: Kind, after what: String, policy: String) throws {
        guard let token = try next() else { throw PolicyError("\(policy): expected \(kind) after \(what), found the end") }
        guard token.kind == kind else {
            throw PolicyError("\(policy):\(token.location): expected \(kind) after \(what), found \(token.kind)")
        }
    }

    private static let newline = UInt8(ascii: "\n"), carriageReturn = UInt8(ascii: "\r")

    /// Whether the byte ends a line (`\n`, or a `\r` on its own or before `\n`).
    private static func isLineEnd(_ byte: UInt8) -> Bool { byte == newline || byte == carriageReturn }

    /// Moves past one byte; a `\r\n` pair counts as one line end.
    @discardableResult
    private mutating func advance() -> UInt8 {
        let byte = bytes[index]
        index += 1
        if byte == Self.carriageReturn, peek() == Self.newline { index += 1 }
        if Self.isLineEnd(byte) {
            line += 1
            column = 1
        } else if byte & 0xc0 != 0x80 {
            column += 1 // one column per scalar, not per continuation byte
        }
        return byte
    }

    private func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == 0x0b || byte == 0x0c || isLineEnd(byte)
    }

    private static func isWordStart(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || byte == UInt8(ascii: "_")
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        isWordStart(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
    }

    mutating func next() throws -> Token? {
        while let byte = peek() {
            if Self.isSpace(byte) {
                advance()
                continue
            }
            if byte == UInt8(ascii: "#") || (byte == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "/")) {
                while let c = peek(), !Self.isLineEnd(c) { advance() }
                continue
            }
            if byte == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "*") {
                let start = "\(line):\(column)"
                advance()
                advance()
                while true {
                    guard let c = peek() else { throw PolicyError("\(start): comment not closed with */") }
                    if c == UInt8(ascii: "*") && peek(1) == UInt8(ascii: "/") {
                        advance()
                        advance()
                        break
                    }
                    advance()
                }
                continue
            }
            break
        }
        guard let byte = peek() else { return nil }
        let location = "\(line):\(column)"
        let single: Kind? =
            switch byte {
            case UInt8(ascii: "{"): .openBrace
            case UInt8(ascii: "}"): .closeBrace
            case UInt8(ascii: "["): .openBracket
            case UInt8(ascii: "]"): .closeBracket
            case UInt8(ascii: "="): .equals
            case UInt8(ascii: ","): .comma
            default: nil
            }
        if let single {
            advance()
            return Token(kind: single, location: location)
        }
        if byte == UInt8(ascii: "\"") {
            advance()
            var text: [UInt8] = []
            while true {
                guard let c = peek(), !Self.isLineEnd(c) else { throw PolicyError("\(location): string not closed with \"") }
                advance()
                if c == UInt8(ascii: "\"") { break }
                if c == UInt8(ascii: "\\") {
                    guard let escaped = peek(), !Self.isLineEnd(escaped) else {
                        throw PolicyError("\(location): string not closed with \"")
                    }
                    advance()
                    text.append(escaped == UInt8(ascii: "n") ? Self.newline : escaped)
                } else {
                    text.append(c)
                }
            }
            guard let decoded = String(validating: text, as: UTF8.self) else {
                throw PolicyError("\(location): the string is not valid UTF-8")
            }
            return Token(kind: .string(decoded), location: location)
        }
        if Self.isWordStart(byte) {
            var word: [UInt8] = []
            while let c = peek(), Self.isWordByte(c) { word.append(advance()) }
            return Token(kind: .word(String(decoding: word, as: UTF8.self)), location: location)
        }
        let shown = byte < 0x80 ? String(UnicodeScalar(byte)) : String(format: "0x%02X", byte)
        throw PolicyError("\(location): unexpected character \"\(shown)\"")
    }
}
