@testable import CofferAccess
import PropertyBased
import Testing

/// The one decoding of a request path, and the policy decision over it.
struct CanonicalPathTests {
    @Test(arguments: [
        ("/v1/secret/data/app", "secret/data/app"),
        ("/v1/secret/metadata/app/", "secret/metadata/app/"),
        ("/v1/", ""),
        ("/v1/sys/policies/acl/a%20b", "sys/policies/acl/a b"),
        ("/v1/a.b/c..d/.e", "a.b/c..d/.e"),
        ("/v1/secret/data/app/%70rod-db", "secret/data/app/prod-db"),
        ("/v1/secret/%64ata/app/x", "secret/data/app/x"),
        ("/v1/secret/data/caf%C3%A9", "secret/data/caf\u{E9}"),
        ("/v1/secret/data/cafe%CC%81", "secret/data/cafe\u{301}")
    ])
    func decodesOnce(raw: String, expected: String) throws {
        let decoded = try CanonicalPath.decodeRequest(Array(raw.utf8)).path
        #expect(Array(decoded.text.utf8) == Array(expected.utf8))
    }

    @Test(arguments: [
        "/v1/../sys/seal", "/v1/a/./b", "/v1/a/..", "/v1/a%2Fb", "/v1/a%2fb", "/v1/a%5Cb", "/v1/a%00", "/v1/%2E%2E/x", "/v1/a%2eb",
        "/v1/a\\b", "/v1/a\u{01}b", "/v1/a%0D%0Ab", "/v1/a%0ab", "/v1/a%7Fb", "/v1/" + String(repeating: "a", count: 1100),
        "/v1//secret//data/app", "/v1/secret//x", "/v1/a%2570", "/v1/a%25", "/v1/a%", "/v1/a%4", "/v1/a%zz", "/v1/a%FFb", "/v1/a%C3",
        "/v1/a%3Fb", "/v1/a%23b", "v1/secret", "",
        // A '/' joined to its neighbour in one Character: a combining mark after it (sent plain or encoded; the
        // fuzz target's first finding, U+035E U+0325), a prefix mark (U+0600) before it.
        "/v1/secret/data/a/%CC%81b", "/v1/secret/data/a/\u{301}b", "/\u{35E}\u{325}d", "/v1/secret/%D8%80/x"
    ])
    func refuses(raw: String) {
        #expect(throws: CanonicalPath.Refusal.self) { try CanonicalPath.decodeRequest(Array(raw.utf8)) }
    }

    @Test func literalsFollowTheSameRules() throws {
        #expect(throws: CanonicalPath.Refusal.self) { try CanonicalPath(validating: "a/../b") }
        #expect(throws: CanonicalPath.Refusal.self) { try CanonicalPath(validating: "a%41") }
        #expect(throws: CanonicalPath.Refusal.self) { try CanonicalPath(validating: "a//b") }
        #expect(throws: CanonicalPath.Refusal.self) { try CanonicalPath(validating: "a/\u{301}b") }
        #expect(try CanonicalPath(validating: "secret/metadata/").isFolder)
    }

    /// NFC and NFD spellings of one name are two paths, as they are two storage keys; a Swift `String`
    /// would call them equal.
    @Test func unicodeFormsAreDistinct() throws {
        let nfc = try CanonicalPath.decodeRequest(Array("/v1/secret/data/caf%C3%A9".utf8)).path
        let nfd = try CanonicalPath.decodeRequest(Array("/v1/secret/data/cafe%CC%81".utf8)).path
        #expect(nfc.text == nfd.text) // Swift's String equality, which storage does not share
        #expect(nfc != nfd)
        let acl = ACL(policies: [try PolicyParser.parse(name: "p", text: "path \"secret/data/caf\u{E9}\" { capabilities = [\"read\"] }")])
        #expect(acl.check(.read, on: nfc.text).allowed)
        #expect(!acl.check(.read, on: nfd.text).allowed)
    }

    // MARK: properties

    /// Segment characters: letters, digits, punctuation a path may hold, a space, and non-ASCII (NFC and a
    /// combining accent).
    static let alphabet: [String] = [
        "a", "b", "p", "r", "o", "d", "-", "_", ".", "+", "~", "@", ":", " ", "\u{E9}", "e\u{301}", "\u{4E2D}", "A", "0"
    ]

    static let segment = Gen<Int>.int(in: 0..<alphabet.count).array(of: 1...6).map { indexes in indexes.map { alphabet[$0] }.joined() }
        .filter { $0 != "." && $0 != ".." }
    static let path = segment.array(of: 1...5).map { $0.joined(separator: "/") }
    /// Per byte: 0 as is, 1 `%XX`, 2 `%xx`.
    static let encodings = Gen<Int>.int(in: 0...2).array(of: 64)

    /// Encodes `text` byte by byte as `choices` say; `/` is always sent plain and `.` too (an encoded dot is refused).
    static func encode(_ text: String, _ choices: [Int]) -> [UInt8] {
        var out: [UInt8] = []
        for (index, byte) in text.utf8.enumerated() {
            let choice = byte >= 0x80 || byte == UInt8(ascii: " ") ? max(1, choices[index % choices.count]) : choices[index % choices.count]
            if byte == UInt8(ascii: "/") || byte == UInt8(ascii: ".") || choice == 0 {
                out.append(byte)
            } else {
                let hex = choice == 1 ? "0123456789ABCDEF" : "0123456789abcdef"
                let digits = Array(hex.utf8)
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]]
            }
        }
        return out
    }

    /// Any encoding of a path decodes to the path's own bytes, and the policy decides it exactly as it decides
    /// the path: a deny rule cannot be stepped around by spelling the path another way.
    @Test func everyEncodingDecidesAsTheCanonicalPath() async throws {
        let acl = ACL(policies: [
            try PolicyParser.parse(
                name: "p",
                text: """
                    path "secret/data/*" { capabilities = ["read"] }
                    path "secret/data/+/pr*" { capabilities = ["deny"] }
                    path "secret/data/a" { capabilities = ["deny"] }
                    path "secret/data/\u{E9}*" { capabilities = ["deny"] }
                    """)
        ])
        await propertyCheck(count: 500, input: Self.path, Self.encodings) { path, choices in
            let raw = Array("/v1/secret/data/".utf8) + Self.encode(path, choices)
            guard let decoded = try? CanonicalPath.decodeRequest(raw).path else {
                Issue.record("refused an unambiguous encoding of \(path)")
                return
            }
            let canonical = "secret/data/" + path
            #expect(Array(decoded.text.utf8) == Array(canonical.utf8))
            #expect(acl.check(.read, on: decoded.text) == acl.check(.read, on: canonical))
        }
    }

    /// Inserting an encoded separator, dot or NUL, or encoding a `%` a second time, anywhere, is refused.
    @Test func ambiguousEncodingsAreRefused() async {
        let bad = Gen.element(of: ["%2F", "%2f", "%5C", "%5c", "%2E", "%2e", "%00", "%25", "%2570", "%0A", "%0D"])
        await propertyCheck(count: 300, input: Self.path, bad, Gen<Int>.int(in: 0...64)) { path, inserted, offset in
            var bytes = Array(path.utf8)
            let at = bytes.isEmpty ? 0 : offset % (bytes.count + 1)
            bytes.insert(contentsOf: Array((inserted ?? "%2F").utf8), at: at)
            #expect(throws: CanonicalPath.Refusal.self) { try CanonicalPath.decodeRequest(Array("/v1/secret/data/".utf8) + bytes) }
        }
    }
}
