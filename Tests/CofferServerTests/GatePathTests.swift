@testable import CofferServer
import Testing

/// The request path as policies see it.
struct GatePathTests {
    @Test(arguments: [
        ("/v1/secret/data/app", "secret/data/app"),
        ("/v1//secret//data/app", "secret/data/app"),
        ("/v1/secret/metadata/app/", "secret/metadata/app/"),
        ("/v1/", ""),
        ("/v1/sys/policies/acl/a%20b", "sys/policies/acl/a%20b"),
        ("/v1/a.b/c..d/.e", "a.b/c..d/.e"),
    ])
    func normalises(raw: String, expected: String) throws {
        #expect(try GatePath.normalise(raw) == expected)
    }

    @Test(arguments: ["/v1/../sys/seal", "/v1/a/./b", "/v1/a/..", "/v1/a%2Fb", "/v1/a%2fb", "/v1/a%5Cb", "/v1/a%00", "/v1/%2E%2E/x",
                      "/v1/a\\b", "/v1/a\u{01}b", "/v1/" + String(repeating: "a", count: 1100)])
    func refuses(raw: String) {
        #expect(throws: APIError.self) { try GatePath.normalise(raw) }
    }
}
