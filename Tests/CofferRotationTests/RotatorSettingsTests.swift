import CofferFoundation
import CofferRotation
import PropertyBased
import Testing

/// The webhook and command rotators' settings: what the operator did not allow is refused, and nothing a
/// caller writes can add a header line to the test request or name a program outside the folder.
struct RotatorSettingsTests {
    static let limits = RotatorLimits(webhookHosts: ["keys.example.com:443", "127.0.0.1:8443"], commandDirectory: "/usr/bin")
    static let base: [String: JSONValue] = [
        "url": .string("https://keys.example.com/rotate"), "test_url": .string("https://keys.example.com/check"),
        "signing_secret": .string("secret/exchange/signing")
    ]

    static func webhook(_ extra: [String: JSONValue], limits: RotatorLimits = limits) throws -> WebhookRotator {
        try WebhookRotator(settings: .object(base.merging(extra) { $1 }), limits: limits)
    }

    /// Text mixing ordinary characters with every kind of line break and control character, in any order.
    static let headerText = Gen.element(of: Array("Bearer xyz-:;=\r\n\t\u{0B}\u{0C}\u{7F}\u{85}\u{2028}é\r\n"))
        .compactMap { $0 }.array(of: 0...12).map { String($0) }

    @Test func aTestPrefixWithAControlByteIsRefusedWhateverItsForm() async {
        await propertyCheck(count: 400, input: Self.headerText) { prefix in
            let hasControl = prefix.utf8.contains { $0 < 0x20 || $0 == 0x7F }
            let accepted = (try? Self.webhook(["test_prefix": .string(prefix)])) != nil
            #expect(accepted == !hasControl, "\(Array(prefix.utf8))")
        }
    }

    @Test func aTestHeaderNameIsOneToken() async {
        await propertyCheck(count: 400, input: Self.headerText) { name in
            let token = !name.isEmpty && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }
            #expect(((try? Self.webhook(["test_header": .string(name)])) != nil) == token, "\(Array(name.utf8))")
        }
    }

    @Test(arguments: [
        "https://evil.example.com/rotate", "https://keys.example.com:444/rotate", "http://keys.example.com/rotate",
        "https://user:pw@keys.example.com/rotate", "https://KEYS.example.com.evil/rotate", "ftp://keys.example.com/", "keys.example.com",
        "https://127.0.0.1/rotate"
    ])
    func aURLOutsideTheAllowedHostsIsRefused(_ url: String) {
        #expect(throws: RotationError.self) { try Self.webhook(["url": .string(url)]) }
        #expect(throws: RotationError.self) { try Self.webhook(["test_url": .string(url)]) }
    }

    @Test func webhooksAndCommandsAreOffUntilTheOperatorAllowsThem() throws {
        #expect(throws: RotationError.self) { try Self.webhook([:], limits: RotatorLimits()) }
        #expect(throws: RotationError.self) {
            try CommandRotator(settings: .object(["command": .string("true")]), limits: RotatorLimits())
        }
        _ = try Self.webhook([:])
        _ = try CommandRotator(settings: .object(["command": .string("true")]), limits: Self.limits)
    }

    @Test(arguments: ["../bin/sh", "/bin/sh", "..", ".", "", "sh/", "no-such-program-here", "tr\u{0}ue"])
    func aCommandOutsideTheFolderIsRefused(_ name: String) {
        #expect(throws: RotationError.self) { try CommandRotator(settings: .object(["command": .string(name)]), limits: Self.limits) }
    }
}
