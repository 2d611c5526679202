import GRDB
import GRDBSQLite

/// Binds audit rows straight to SQLite's prepared insert. GRDB's
/// `StatementArguments` boxes every value into an existential and checks the
/// count on every row, which for 26 columns at tens of thousands of rows a
/// second was more than half of the writer's database time (perf). Text is
/// bound where it lies in the row's buffer, without a copy
/// (`SQLITE_STATIC`): the buffer is left alone until the row is inserted.
struct AuditRowBinder {
    private let statement: SQLiteStatement

    init(_ statement: Statement) {
        self.statement = statement.sqliteStatement
    }

    /// Inserts `row` (columns `seq`, `time` ... `status`, `hash`) and
    /// makes the statement ready for the next.
    func insert(_ row: AuditRow, hash: [UInt8], _ db: Database) throws {
        let code = row.bytes.withUnsafeBufferPointer { bytes in
            hash.withUnsafeBufferPointer { hash in
                // An empty array may have no storage; any address serves
                // for zero bytes, and a text column is never longer than
                // the row's bytes.
                let rowBytes = UnsafeRawPointer(bytes.baseAddress) ?? UnsafeRawPointer(bitPattern: 1)
                let hashBytes = UnsafeRawPointer(hash.baseAddress) ?? UnsafeRawPointer(bitPattern: 1)
                sqlite3_bind_int64(statement, 1, row.seq)
                var index: Int32 = 2
                for column in row.columns {
                    switch column {
                    case .null:
                        sqlite3_bind_null(statement, index)
                    case .integer(let value):
                        sqlite3_bind_int64(statement, index, value)
                    case .text(let start, let count):
                        rowBytes.map { bindText($0 + start, count, at: index) }
                    }
                    index += 1
                }
                hashBytes.map { bindText($0, hash.count, at: index) }
                // Stepped inside the closures: the bound bytes live until
                // here, and no binding outlives them.
                defer {
                    sqlite3_reset(statement)
                    sqlite3_clear_bindings(statement)
                }
                return sqlite3_step(statement)
            }
        }
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    /// SQLite keeps the pointer without copying; an empty text still needs a
    /// non-null one, or SQLite stores NULL.
    private func bindText(_ pointer: UnsafeRawPointer, _ count: Int, at index: Int32) {
        sqlite3_bind_text(statement, index, pointer.assumingMemoryBound(to: CChar.self), Int32(count), nil)
    }
}
