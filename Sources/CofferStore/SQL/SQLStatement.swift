import CofferFoundation
/// A statement for ``SQLConnection/executeBatch(_:rows:)``: fixed SQL text with `$1`, `$2`, … placeholders.
///
/// Only a string literal makes one, so no value can end up in its text; the values come as rows.
///
/// ```swift
/// try conn.executeBatch("INSERT INTO events (id, body) VALUES ($1, $2)", rows: events.map { [.int($0.id), .text($0.body)] })
/// ```
public struct SQLStatement: Sendable, ExpressibleByStringLiteral {
    /// The text, as a query with no binds (so it shares the statement cache with queries).
    let query: SQLQuery
    /// The highest placeholder number in the text.
    let parameterCount: Int

    public init(stringLiteral value: StaticString) {
        let text = value.description
        query = SQLQuery(segments: [text], binds: [])
        parameterCount = Self.highestPlaceholder(in: text)
    }

    static func highestPlaceholder(in text: String) -> Int {
        var highest = 0, current: Int?
        for byte in text.utf8 {
            if let value = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                current = value * 10 + Int(byte - UInt8(ascii: "0"))
                continue
            }
            if let value = current { highest = max(highest, value) }
            current = byte == UInt8(ascii: "$") ? 0 : nil
        }
        if let value = current { highest = max(highest, value) }
        return highest
    }

    func check(_ row: [SQLValue]) throws {
        guard row.count == parameterCount else {
            throw StoreError(
                .sqlError, "a batch row has \(row.count) values for a statement with \(parameterCount) placeholders")
        }
    }
}
