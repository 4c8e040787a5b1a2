@testable import CofferServer
import Foundation
import Testing

struct JSONLogHandlerTests {
    @Test func quotesEverythingJSONNeeds() throws {
        let nasty = "line1\nline2\t\"quoted\" back\\slash \u{01} ✓"
        let quoted = JSONLogHandler.quote(nasty)
        let decoded = try JSONSerialization.jsonObject(with: Data("[\(quoted)]".utf8)) as? [String]
        #expect(decoded == [nasty])
    }
}
