@testable import CofferAccess
import Foundation
import PropertyBased
import Testing

/// A policy means the same whatever its line ends: `\n`, `\r\n`, `\r`, a byte-order mark, tabs.
struct PolicyLineEndTests {
    static let text = """
        # read the app's secrets
        path "secret/data/app/*" {
          capabilities = ["read", "list"] # trailing comment
        }
        // the production database is not for this token
        path "secret/data/app/prod-db" {
        \tcapabilities = ["deny"]
        }
        /* a block
           comment */
        path "sys/policies/acl/*" { capabilities = ["create"] }

        """

    static func rules(_ policy: Policy) -> [String] {
        policy.rules.map { "\($0.path) \($0.capabilities)" }
    }

    @Test(arguments: ["\r\n", "\r", "\n"])
    func lineEndsDoNotChangeTheRules(lineEnd: String) throws {
        let lf = try PolicyParser.parse(name: "p", text: Self.text)
        #expect(lf.rules.count == 3)
        let variant = Self.text.replacingOccurrences(of: "\n", with: lineEnd)
        #expect(Self.rules(try PolicyParser.parse(name: "p", text: variant)) == Self.rules(lf))
        #expect(Self.rules(try PolicyParser.parse(name: "p", text: "\u{FEFF}" + variant)) == Self.rules(lf))
        // The deny rule survives, so the ACL still refuses prod-db.
        let acl = ACL(policies: [try PolicyParser.parse(name: "p", text: variant)])
        #expect(!acl.check(.read, on: "secret/data/app/prod-db").allowed)
        #expect(acl.check(.read, on: "secret/data/app/web").allowed)
        // The formatter keeps every rule too.
        let formatted = try PolicyFormatter.format(variant, name: "p")
        #expect(Self.rules(try PolicyParser.parse(name: "p", text: formatted)) == Self.rules(lf))
        #expect(!formatted.contains("\r"))
    }

    /// For random mixes of line ends per line, the rules are those of the LF text.
    @Test func mixedLineEnds() async throws {
        let expected = Self.rules(try PolicyParser.parse(name: "p", text: Self.text))
        let lines = Self.text.split(separator: "\n", omittingEmptySubsequences: false)
        await propertyCheck(count: 200, input: Gen<Int>.int(in: 0...2).array(of: lines.count)) { choices in
            var text = ""
            for (line, choice) in zip(lines, choices) { text += line + ["\n", "\r\n", "\r"][choice] }
            #expect((try? PolicyParser.parse(name: "p", text: text)).map(Self.rules) == expected)
        }
    }
}
