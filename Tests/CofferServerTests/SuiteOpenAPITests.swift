import CofferAccess
import CofferCrypto
import CofferFoundation
import CofferHTTP
import CofferModels
import CofferServer
import CofferServerTesting
import CofferStore
import CofferTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Docs/openapi.yaml describes every suite route the server registers, and nothing it does not.
struct SuiteOpenAPITests {
    @Test func openAPIFileListsEverySuiteRoute() async throws {
        let root = #filePath.components(separatedBy: "/Tests/")[0]
        let text = try String(contentsOfFile: root + "/Docs/openapi.yaml", encoding: .utf8)
        let documented = Set(
            text.split(separator: "\n").filter { $0.hasPrefix("  /coffer/") && $0.hasSuffix(":") }.map {
                "/v1" + $0.dropFirst(2).dropLast()
            })
        try await withServer(.sqlite) { server in
            let prefixes = [
                "/v1/coffer/models", "/v1/coffer/features", "/v1/coffer/cache", "/v1/coffer/errors", "/v1/coffer/metrics",
                "/v1/coffer/health"
            ]
            let registered = Set(
                server.makeGatedRouter().routes.map(\.path).filter { path in prefixes.contains { path.hasPrefix($0) } }.map { path in
                    path.split(separator: "/", omittingEmptySubsequences: false).map {
                        $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0)
                    }.joined(separator: "/")
                })
            #expect(
                registered == documented,
                "not documented: \(registered.subtracting(documented).sorted()); not served: \(documented.subtracting(registered).sorted())"
            )
        }
    }
}
