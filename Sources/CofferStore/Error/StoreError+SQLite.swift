import CSQLite
import CofferFoundation

extension StoreError {
    /// Turns a SQLite result code into a ``StoreError``. SQLite's messages name tables, columns and
    /// SQL text, never bind values, so they are safe to show.
    static func sqlite(_ resultCode: Int32, _ handle: OpaquePointer?, file: String = #fileID, line: Int = #line) -> StoreError {
        let extended = handle.map { sqlite3_extended_errcode($0) } ?? resultCode
        let text = handle.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(resultCode))
        let code: Code
        switch extended {
        case ExtendedCode.unique, ExtendedCode.primaryKey: code = .uniqueViolation
        case ExtendedCode.foreignKey: code = .foreignKeyViolation
        case ExtendedCode.notNull: code = .notNullViolation
        case ExtendedCode.check: code = .checkViolation
        default:
            switch extended & 0xff {
            case SQLITE_BUSY, SQLITE_LOCKED: code = .busy
            case SQLITE_READONLY: code = .readOnly
            case SQLITE_CANTOPEN: code = .cannotOpen
            default: code = .sqlError
            }
        }
        return StoreError(code, "SQLite: \(text)", detail: "SQLite result code \(extended)", file: file, line: line)
    }
}

/// SQLite's extended constraint codes are function-like macros Swift cannot import; these are their values.
private enum ExtendedCode {
    static let check = SQLITE_CONSTRAINT | (1 << 8)
    static let foreignKey = SQLITE_CONSTRAINT | (3 << 8)
    static let notNull = SQLITE_CONSTRAINT | (5 << 8)
    static let primaryKey = SQLITE_CONSTRAINT | (6 << 8)
    static let unique = SQLITE_CONSTRAINT | (8 << 8)
}
