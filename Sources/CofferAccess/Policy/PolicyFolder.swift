import Foundation

/// The policies of a folder such as Policies/: `NAME.hcl` or `NAME.json`, the policy named by the file.
public enum PolicyFolder {
    /// Parses every policy file in `path`.
    /// - Throws: ``PolicyError`` naming the file, line and column of the first problem.
    public static func load(_ path: String) throws -> [String: Policy] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else {
            throw PolicyError("cannot read the policy folder \(path)")
        }
        var policies: [String: Policy] = [:]
        for file in names.sorted() where file.hasSuffix(".hcl") || file.hasSuffix(".json") {
            let name = String(file.prefix(upTo: file.lastIndex(of: ".") ?? file.endIndex))
            guard let data = FileManager.default.contents(atPath: "\(path)/\(file)") else { throw PolicyError("cannot read \(path)/\(file)") }
            guard policies[name] == nil else { throw PolicyError("\(path): policy \(name) is defined by two files") }
            policies[name] = try PolicyParser.parse(name: file, text: String(decoding: data, as: UTF8.self))
        }
        return policies
    }
}
