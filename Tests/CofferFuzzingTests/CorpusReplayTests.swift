import CofferFuzzing
import Foundation
import Testing

/// Every committed corpus input (what `make fuzz` found worth keeping, and every input that once crashed) and
/// every built-in seed, run through its target: a parser that traps again fails this test, and a property that
/// breaks again is reported with the file.
@Suite struct CorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")
    static let repositoryRoot = corpus.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func inputs(of target: FuzzTarget) throws -> [(String, Data)] {
        let folder = corpus.appendingPathComponent(target.name)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return try names.map { ($0, try Data(contentsOf: folder.appendingPathComponent($0))) }
            + target.seedInputs(repositoryRoot: repositoryRoot).map { ($0.name, $0.data) }
    }

    @Test(arguments: FuzzTarget.all.map(\.name))
    func corpusHolds(_ name: String) throws {
        let target = try #require(FuzzTarget.named(name))
        let inputs = try Self.inputs(of: target)
        #expect(inputs.count >= 3, "\(name) needs a corpus of its own in Tests/CofferFuzzingTests/Corpus/\(name)")
        for (file, input) in inputs {
            do { try target.run(input) } catch { Issue.record("\(name)/\(file): \(error)") }
        }
    }

    /// The policy target's seeds are the real policies, read where they live.
    @Test func policySeedsAreThePolicies() throws {
        let target = try #require(FuzzTarget.named("policy"))
        let names = try target.seedInputs(repositoryRoot: Self.repositoryRoot).map(\.name)
        #expect(names.contains("Policies/admin.hcl"))
        #expect(names.contains("Policies/service-reader.hcl"))
        #expect(!names.contains { $0.hasPrefix("Policies/services") })
    }

    /// The corpus folders are the targets: a folder for a target that no longer exists would replay nothing.
    @Test func everyCorpusFolderIsATarget() throws {
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted()
        #expect(folders == FuzzTarget.all.map(\.name).sorted())
    }
}
