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
            while true {
                guard let key = try lexer.next() else { throw PolicyError("\(name): the block of path \"\(pathText)\" is not closed with }") }
                if case .closeBrace = key.kind { break }
                guard case .word(let keyName) = key.kind else {
                    throw PolicyError("\(name):\(key.location): expected a key such as capabilities, found \(key.kind)")
                }
                guard keyName == "capabilities" else {
                    throw PolicyError("\(name):\(key.location): unknown key \"\(keyName)\" in path \"\(pathText)\": Coffer supports capabilities only")
                }
                guard capabilities == nil else { throw PolicyError("\(name):\(key.location): capabilities is given twice for path \"\(pathText)\"") }
                try lexer.expect(.equals, after: "capabilities", policy: name)
                try lexer.expect(.openBracket, after: "capabilities =", policy: name)
                var set: Capabilities = []
                var expectValue = true
                while true {
                    guard let item = try lexer.next() else { throw PolicyError("\(name): the capabilities list of path \"\(pathText)\" is not closed with ]") }
                    if case .closeBracket = item.kind { break }
                    if case .comma = item.kind, !expectValue { expectValue = true; continue }
                    guard expectValue, case .string(let capabilityName) = item.kind else {
                        throw PolicyError("\(name):\(item.location): expected a quoted capability, found \(item.kind)")
                    }
                    guard let capability = Capabilities(name: capabilityName) else {
                        throw PolicyError("\(name):\(item.location): unknown capability \"\(capabilityName)\": use \(Capabilities.names.map(\.0).joined(separator: ", "))")
                    }
                    set.formUnion(capability)
                    expectValue = false
                }
                capabilities = set
            }
            guard let capabilities else { throw PolicyError("\(name):\(token.location): path \"\(pathText)\" has no capabilities") }
            rules.append(Policy.Rule(path: pattern, capabilities: capabilities, location: token.location))
        }
        return Policy(name: name, rules: rules)
    }

    /// The JSON form: `{"path": {"secret/*": {"capabilities": ["read"]}}}`.
    static func parseJSON(name: String, text: String) throws -> Policy {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw PolicyError("\(name): not a JSON object (write {\"path\": {\"secret/*\": {\"capabilities\": [\"read\"]}}})")
        }
        if let unknown = object.keys.first(where: { $0 != "path" }) { throw PolicyError("\(name): unknown key \"\(unknown)\": only path is supported") }
        guard let paths = object["path"] as? [String: Any] else { throw PolicyError("\(name): \"path\" must be an object of path patterns") }
        var rules: [Policy.Rule] = []
        for (pathText, value) in paths.sorted(by: { $0.key < $1.key }) {
            guard let block = value as? [String: Any] else { throw PolicyError("\(name): path \"\(pathText)\" must be an object") }
            if let unknown = block.keys.first(where: { $0 != "capabilities" }) {
                throw PolicyError("\(name): unknown key \"\(unknown)\" in path \"\(pathText)\": Coffer supports capabilities only")
            }
            guard let list = block["capabilities"] as? [String] else { throw PolicyError("\(name): path \"\(pathText)\" needs a capabilities list of strings") }
            var set: Capabilities = []
            for capabilityName in list {
                guard let capability = Capabilities(name: capabilityName) else { throw PolicyError("\(name): unknown capability \"\(capabilityName)\" in path \"\(pathText)\"") }
                set.formUnion(capability)
            }
            rules.append(Policy.Rule(path: try PathPattern(pathText), capabilities: set, location: "path \"\(pathText)\""))
        }
        return Policy(name: name, rules: rules)
    }
}

/// Tokens of the HCL subset, with `line:column` locations. Comments: `#`, `//` and `/* … */`.
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

    private let characters: [Character]
    private var index = 0
    private var line = 1
    private var column = 1

    init(_ text: String) {
        characters = Array(text)
    }

    mutating func expect(_ kind: Kind, after what: String, policy: String) throws {
        guard let token = try next() else { throw PolicyError("\(policy): expected \(kind) after \(what), found the end") }
        guard token.kind == kind else { throw PolicyError("\(policy):\(token.location): expected \(kind) after \(what), found \(token.kind)") }
    }

    private mutating func advance() -> Character {
        let character = characters[index]
        index += 1
        if character == "\n" { line += 1; column = 1 } else { column += 1 }
        return character
    }

    private func peek(_ offset: Int = 0) -> Character? {
        index + offset < characters.count ? characters[index + offset] : nil
    }

    mutating func next() throws -> Token? {
        while let character = peek() {
            if character.isWhitespace { _ = advance(); continue }
            if character == "#" || (character == "/" && peek(1) == "/") {
                while let c = peek(), c != "\n" { _ = advance() }
                continue
            }
            if character == "/" && peek(1) == "*" {
                let start = "\(line):\(column)"
                _ = advance(); _ = advance()
                while true {
                    guard let c = peek() else { throw PolicyError("\(start): comment not closed with */") }
                    if c == "*" && peek(1) == "/" { _ = advance(); _ = advance(); break }
                    _ = advance()
                }
                continue
            }
            break
        }
        guard let character = peek() else { return nil }
        let location = "\(line):\(column)"
        switch character {
        case "{": _ = advance(); return Token(kind: .openBrace, location: location)
        case "}": _ = advance(); return Token(kind: .closeBrace, location: location)
        case "[": _ = advance(); return Token(kind: .openBracket, location: location)
        case "]": _ = advance(); return Token(kind: .closeBracket, location: location)
        case "=": _ = advance(); return Token(kind: .equals, location: location)
        case ",": _ = advance(); return Token(kind: .comma, location: location)
        case "\"":
            _ = advance()
            var text = ""
            while true {
                guard let c = peek(), c != "\n" else { throw PolicyError("\(location): string not closed with \"") }
                _ = advance()
                if c == "\"" { break }
                if c == "\\" {
                    guard let escaped = peek() else { throw PolicyError("\(location): string not closed with \"") }
                    _ = advance()
                    text.append(escaped == "n" ? "\n" : escaped)
                } else {
                    text.append(c)
                }
            }
            return Token(kind: .string(text), location: location)
        case _ where character.isLetter || character == "_":
            var word = ""
            while let c = peek(), c.isLetter || c.isNumber || c == "_" || c == "-" { word.append(advance()) }
            return Token(kind: .word(word), location: location)
        default:
            throw PolicyError("\(location): unexpected character \"\(character)\"")
        }
    }
}
