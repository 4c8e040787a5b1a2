@testable import CofferStore
import Foundation
import Testing

/// The C strings handed to libpq (a password among them) are zeroed before they are freed.
struct CStringWipeTests {
    @Test func aCopyIsZeroedUpToItsTerminator() throws {
        let copy = try #require(strdup("s3cret-admin-password"))
        defer { free(copy) }
        PostgresTarget.wipe(copy)
        let bytes = UnsafeRawBufferPointer(start: copy, count: "s3cret-admin-password".utf8.count + 1)
        #expect(bytes.allSatisfy { $0 == 0 })
    }
}
