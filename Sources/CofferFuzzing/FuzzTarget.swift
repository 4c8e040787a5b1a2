public import Foundation

/// One libFuzzer target: a parser Coffer runs on input it does not control, and what must hold for any input
/// beyond not trapping (a trap, an overflow or an out-of-bounds index is libFuzzer's own finding).
///
/// The same targets run three ways: under libFuzzer (`make fuzz`, the `coffer-fuzz` product built with
/// `-sanitize=fuzzer,address`), over the committed corpus in `swift test` (so every input that ever crashed
/// stays a test), and from the command line (`coffer-fuzz TARGET FILE…`) to replay one input.
public struct FuzzTarget: Sendable {
    /// The target's name: `COFFER_FUZZ_TARGET`, and its corpus folder.
    public let name: String
    /// What it feeds and what it checks, for `coffer-fuzz --list` and Docs/RELIABILITY.md.
    public let summary: String
    /// Inputs built in code rather than committed (an export whose hashes and signature must be real).
    public let seeds: [Data]
    /// Folders of the repository whose files are real inputs of this parser (Policies/ for the policy parser):
    /// used as seeds where they live rather than copied into the corpus, so they never drift from the originals.
    public let repositoryFolders: [String]
    private let body: @Sendable (Data) throws(FuzzFinding) -> Void

    init(
        _ name: String, _ summary: String, seeds: [Data] = [], repositoryFolders: [String] = [],
        _ body: @escaping @Sendable (Data) throws(FuzzFinding) -> Void
    ) {
        self.name = name
        self.summary = summary
        self.seeds = seeds
        self.repositoryFolders = repositoryFolders
        self.body = body
    }

    /// The target's seeds, named: the built-in ones (`seed-N`) and the files directly in its repository folders
    /// under `root` (`Policies/admin.hcl`); subfolders are not read.
    /// - Throws: when a repository folder cannot be listed or one of its files cannot be read.
    public func seedInputs(repositoryRoot root: URL) throws -> [(name: String, data: Data)] {
        var inputs = seeds.enumerated().map { (name: "seed-\($0.offset)", data: $0.element) }
        for folder in repositoryFolders {
            let directory = root.appendingPathComponent(folder, isDirectory: true)
            for file in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() {
                let url = directory.appendingPathComponent(file)
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue
                else { continue }
                inputs.append((name: "\(folder)/\(file)", data: try Data(contentsOf: url)))
            }
        }
        return inputs
    }

    /// Feeds `input` to the parser and checks its properties.
    /// - Throws: ``FuzzFinding`` when a property fails (the parser's own refusals are expected and swallowed).
    public func run(_ input: Data) throws(FuzzFinding) { try body(input) }

    /// Every target, in the order `make fuzz` runs them.
    public static let all: [FuzzTarget] = [
        CanonicalPathTarget.target, PolicyTarget.target, JSONBodyTarget.target, ShamirTarget.target,
        PrometheusTarget.target, CronTarget.target, LogImportTarget.target, AuditExportTarget.target,
        ConnectionStringTarget.target, DurationTarget.target
    ]

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}

/// A property that failed for one input: what was expected, never the input itself (which may be long).
public struct FuzzFinding: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Fails the run with `message` unless `condition` holds.
func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(FuzzFinding) {
    if !condition { throw FuzzFinding(message()) }
}

extension Data {
    /// The input as text, invalid UTF-8 repaired: most parsers here take a `String` from a body or a file.
    var text: String { String(decoding: self, as: UTF8.self) }
}
