import Foundation

/// The policies of a folder such as Policies/: `NAME.hcl` or `NAME.json`, the policy named by the file.
public enum PolicyFolder {
    /// The text of every policy file in `path` by policy name, each checked to parse.
    /// - Throws: ``PolicyError`` naming the file, line and column of the first problem.
    public static func texts(_ path: String) throws -> [String: String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else {
            throw PolicyError("cannot read the policy folder \(path)")
        }
        var texts: [String: String] = [:]
        for file in names.sorted() where file.hasSuffix(".hcl") || file.hasSuffix(".json") {
            let name = String(file.prefix(upTo: file.lastIndex(of: ".") ?? file.endIndex))
            guard let data = FileManager.default.contents(atPath: "\(path)/\(file)") else {
                throw PolicyError("cannot read \(path)/\(file)")
            }
            guard texts[name] == nil else { throw PolicyError("\(path): policy \(name) is defined by two files") }
            let text = String(decoding: data, as: UTF8.self)
            _ = try PolicyParser.parse(name: file, text: text)
            texts[name] = text
        }
        return texts
    }

    /// Parses every policy file in `path`.
    /// - Throws: ``PolicyError`` naming the file, line and column of the first problem.
    public static func load(_ path: String) throws -> [String: Policy] {
        Dictionary(uniqueKeysWithValues: try texts(path).map { name, text in (name, try PolicyParser.parse(name: name, text: text)) })
    }
}
