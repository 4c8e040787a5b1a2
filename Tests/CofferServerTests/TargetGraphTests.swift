import Foundation
import Testing

/// The layering Docs/ARCHITECTURE.md draws, checked from the sources: a suite module never imports a sibling
/// (the server composes them), and the foundation target imports nothing of Coffer's. SwiftPM's declared
/// dependencies say the same, but a transitive module can still be imported; this reads what each file imports.
struct TargetGraphTests {
    static let suite = ["CofferModels", "CofferMetrics", "CofferFeatures", "CofferErrorLog", "CofferCache", "CofferHealth"]

    static var sources: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources")
    }

    /// The modules the files of `target` import.
    static func imports(of target: String) throws -> [(file: String, module: String)] {
        let folder = sources.appendingPathComponent(target)
        let files =
            FileManager.default.enumerator(atPath: folder.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") } ?? []
        #expect(!files.isEmpty, "no sources found under \(folder.path)")
        var found: [(String, String)] = []
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ").filter {
                    !$0.hasPrefix("@") && $0 != "public" && $0 != "internal" && $0 != "package"
                }
                if words.count == 2, words[0] == "import" { found.append((file, String(words[1]))) }
            }
        }
        return found
    }

    @Test(arguments: suite)
    func suiteModuleImportsNoSibling(_ target: String) throws {
        let siblings = try Self.imports(of: target).filter { Self.suite.contains($0.module) && $0.module != target }
        #expect(siblings.isEmpty, "\(target) imports a sibling: \(siblings.map { "\($0.file): \($0.module)" })")
    }

    @Test func foundationImportsNothingOfCoffers() throws {
        let ours = try Self.imports(of: "CofferFoundation").filter {
            $0.module.hasPrefix("Coffer") || ["CSodium", "CSQLite", "CLibPQ"].contains($0.module)
        }
        #expect(ours.isEmpty, "CofferFoundation imports \(ours.map { "\($0.file): \($0.module)" })")
    }
}
