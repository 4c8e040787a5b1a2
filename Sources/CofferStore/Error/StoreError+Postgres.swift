import CLibPQ
import CofferFoundation

extension StoreError {
    /// Turns a failed libpq result into a ``StoreError``.
    ///
    /// Data-exception messages (SQLSTATE class 22) can quote the offending value, and DETAIL lines can
    /// quote key values, so neither is shown; identifiers (constraint, table, column) are.
    static func postgres(_ result: OpaquePointer?, connection: OpaquePointer?, file: String = #fileID, line: Int = #line) -> StoreError {
        func field(_ code: Character) -> String? {
            guard let result, let value = PQresultErrorField(result, Int32(code.asciiValue ?? 0)) else { return nil }
            return String(cString: value)
        }
        let sqlState = field("C") ?? ""
        let lost = connection.map { PQstatus($0) == CONNECTION_BAD } ?? true
        let code: Code
        switch sqlState {
        case "23505": code = .uniqueViolation
        case "23503": code = .foreignKeyViolation
        case "23502": code = .notNullViolation
        case "23514": code = .checkViolation
        case "40001", "40P01": code = .serializationFailure
        case "25006": code = .readOnly
        case _ where sqlState.hasPrefix("08") || sqlState == "57P01" || lost: code = .connectionLost
        default: code = .sqlError
        }
        var text: String
        if sqlState.hasPrefix("22") {
            text = "invalid data for a column (the value is not shown)"
        } else if let primary = field("M") {
            text = primary
        } else {
            text = connection.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? "unknown error"
            text = text.trimmingWhitespace()
        }
        for (label, key) in [("constraint", Character("n")), ("table", "t"), ("column", "c")] {
            if let value = field(key) { text += "; \(label) \(value)" }
        }
        return StoreError(
            code, "PostgreSQL: \(text)",
            detail: sqlState.isEmpty ? nil : "SQLSTATE \(sqlState)",
            file: file,
            line: line
        )
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var view = Substring(self)
        while let first = view.first, first.isWhitespace { view.removeFirst() }
        while let last = view.last, last.isWhitespace { view.removeLast() }
        return String(view)
    }
}
