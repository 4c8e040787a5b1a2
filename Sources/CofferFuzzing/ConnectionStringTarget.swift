import CofferStore
import Foundation

/// Database URLs (`COFFER_DATABASE_URL`, a health check's `url`): parsed by libpq, shown without the password.
enum ConnectionStringTarget {
    /// Stands in for a password: the input's first 0x01 byte is replaced by it, wherever the fuzzer puts it.
    static let marker = "Pw0rdZq7Xk"

    static let target = FuzzTarget(
        "connection-string",
        "database URLs and conninfo strings (the store's and a health check's): parsed or refused, and no refusal "
            + "quotes the string (which may hold a password)"
    ) { input throws(FuzzFinding) in
        var bytes = Array(input)
        if let at = bytes.firstIndex(of: 1) { bytes.replaceSubrange(at...at, with: Array(marker.utf8)) }
        let text = String(decoding: bytes, as: UTF8.self)
        guard !text.contains("\0") else { return } // a C string cannot hold one; the configuration loader refuses it
        do { _ = try DatabaseLocation(parsing: text) } catch {
            try require(!"\(error)".contains(marker), "a refused database URL was quoted in its error")
        }
        do { _ = try PostgresProbe.parse(url: text) } catch {
            try require(!"\(error)".contains(marker), "a refused check URL was quoted in its error")
        }
    }
}
