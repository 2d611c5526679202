import GRDB
import GRDBSQLite

/// Binds one audit row straight to SQLite's prepared statement. GRDB's
/// `StatementArguments` boxes every value into an existential and checks the
/// count on every row, which for 26 columns at tens of thousands of rows a
/// second was more than half of the writer's database time (perf).
struct AuditRowBinder {
    private let statement: SQLiteStatement
    private var index: Int32 = 0

    /// SQLite copies the bytes it is given (they live only for the call).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ statement: Statement) {
        self.statement = statement.sqliteStatement
    }

    mutating func text(_ value: String?) {
        index += 1
        guard var text = value else { return _ = sqlite3_bind_null(statement, index) }
        let (statement, index) = (statement, index)
        text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                // An empty string still needs a non-null pointer, or SQLite stores NULL.
                if let base = chars.baseAddress {
                    _ = sqlite3_bind_text(statement, index, base, Int32(chars.count), Self.transient)
                } else {
                    _ = sqlite3_bind_text(statement, index, "", 0, Self.transient)
                }
            }
        }
    }

    mutating func integer(_ value: Int64?) {
        index += 1
        guard let value else { return _ = sqlite3_bind_null(statement, index) }
        sqlite3_bind_int64(statement, index, value)
    }

    /// Runs the statement with what was bound and makes it ready for the next row.
    mutating func insert(_ db: Database) throws {
        let code = sqlite3_step(statement)
        sqlite3_reset(statement)
        index = 0
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }
}
