import CofferHTTP
import CofferServer
import CofferServerTesting
import CofferTesting
import Foundation
import HTTPTypes
import Testing

/// Docs/openapi.yaml describes every route the server registers under /v1, with its methods, and nothing it
/// does not: the fuzzer (`make fuzz-api`) can only reach what the document lists.
struct OpenAPIDocumentTests {
    @Test func openAPIDocumentListsEveryRouteAndMethod() async throws {
        let root = #filePath.components(separatedBy: "/Tests/")[0]
        let text = try String(contentsOfFile: root + "/Docs/openapi.yaml", encoding: .utf8)
        let documented = Self.operations(in: text)
        try await withServer(.sqlite) { server in
            let registered = Set(
                server.makeGatedRouter().routes.filter { $0.path.hasPrefix("/v1/") }.map { route in
                    // LIST is documented as GET ?list=true; `:name` and `**` as OpenAPI's templates.
                    let method = route.method == GatedRouter.list ? "GET" : route.method.rawValue
                    let path = route.path.dropFirst(3).split(separator: "/", omittingEmptySubsequences: false).map {
                        $0 == "**" ? "{path}" : $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0)
                    }.joined(separator: "/")
                    return "\(method) \(path)"
                })
            #expect(registered.count > 250, "the walk found \(registered.count) operations")
            #expect(
                registered == documented,
                "not documented: \(registered.subtracting(documented).sorted()); not served: \(documented.subtracting(registered).sorted())"
            )
        }
    }

    /// `METHOD /path` for every operation under `paths:` (two-space path keys, four-space method keys).
    static func operations(in document: String) -> Set<String> {
        var operations: Set<String> = []
        var path: String?
        var inPaths = false
        for line in document.split(separator: "\n") {
            if line == "paths:" {
                inPaths = true
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
            } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                let key = line.trimmingCharacters(in: .whitespaces).dropLast()
                if ["get", "head", "post", "put", "patch", "delete"].contains(key) { operations.insert("\(key.uppercased()) \(path)") }
            }
        }
        return operations
    }
}
