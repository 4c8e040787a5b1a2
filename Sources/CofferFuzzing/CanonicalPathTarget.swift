import CofferAccess
import Foundation

/// The Gate's request path decoder: whatever it accepts must be one path however it is spelled.
enum CanonicalPathTarget {
    static let target = FuzzTarget(
        "canonical-path",
        "request paths as sent: an accepted path re-validates as itself, and the same bytes sent fully "
            + "percent-encoded decode to the same path (one path, one spelling)"
    ) { input throws(FuzzFinding) in
        guard let (path, routing) = try? CanonicalPath.decodeRequest(input) else { return }
        let again = try? CanonicalPath(validating: path.text)
        try require(again == path, "\(path.text) was accepted from a request but refused as a path Coffer names")
        // Compared as bytes: a combining mark after a '/' joins it in one Character, and `hasSuffix` compares Characters.
        try require(
            Array(routing.utf8).reversed().starts(with: Array(path.text.utf8).reversed()),
            "the routing path \(routing) does not end in the decided path \(path.text)")
        // The same path, every byte encoded that may be (all but letters, digits, '/' and '.', whose encoded forms
        // are refused): it must decide the same way.
        var encoded = Array("/v1/".utf8)
        for byte in path.text.utf8 {
            if byte.isASCIIAlphanumeric || byte == UInt8(ascii: "/") || byte == UInt8(ascii: ".") {
                encoded.append(byte)
            } else {
                encoded.append(contentsOf: Array(String(format: "%%%02X", byte).utf8))
            }
        }
        // Splitting the text on the Character '/' (as String code does) finds the same segments as on the byte.
        try require(
            path.text.split(separator: "/").map { Array($0.utf8) } == path.text.utf8.split(separator: UInt8(ascii: "/")).map(Array.init),
            "\(path.text) has different segments split as text and as bytes")
        guard encoded.count <= CanonicalPath.maximumBytes else { return } // refused as too long, rightly
        let reencoded = try? CanonicalPath.decodeRequest(encoded)
        try require(reencoded?.path == path, "\(path.text) percent-encoded does not decode to itself")
    }
}

extension UInt8 {
    var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}
