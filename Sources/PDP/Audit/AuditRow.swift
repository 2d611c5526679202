import Crypto

/// One audit record as the chain hashes it, built in a single reusable
/// buffer: the previous hash, the sequence number, then every column from
/// `time` to `duration_ms` in table order, each length-prefixed (`5:hello`)
/// or `-;` when missing, so that no two different records hash alike; then
/// the columns added later (`laterColumns`: `count`, the HTTP request's and
/// the DNS query's), each hashed only when its record has it.
///
/// The writer binds the text columns to SQLite straight out of this buffer
/// (`AuditRowBinder`), so a record is neither assembled as an `AuditRecord`
/// nor copied field by field into SQLite: at a hundred thousand decisions a
/// second, those copies and their allocations were a large part of the
/// writer's time (perf).
struct AuditRow {
    /// A column's value: text by its place in `bytes`.
    enum Column {
        case null
        case integer(Int64)
        case text(start: Int, count: Int)
    }

    private(set) var bytes: [UInt8] = []
    /// The columns from `time` to `query_type`, in table order.
    private(set) var columns: [Column] = []
    private(set) var seq: Int64 = 0

    init() {
        bytes.reserveCapacity(1024)
        columns.reserveCapacity(24)
    }

    /// Starts the next record, chained to `previous` (a hash as hex text).
    mutating func start<Hash: Collection<UInt8>>(seq: Int64, previous: Hash) {
        bytes.removeAll(keepingCapacity: true)
        columns.removeAll(keepingCapacity: true)
        self.seq = seq
        appendLength(previous.count)
        bytes.append(contentsOf: previous)
        appendNumber(seq)
    }

    mutating func text(_ value: String?) {
        guard var value else { return null() }
        value.withUTF8 { utf8 in
            appendLength(utf8.count)
            columns.append(.text(start: bytes.count, count: utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func integer(_ value: Int64?) {
        guard let value else { return null() }
        appendNumber(value)
        columns.append(.integer(value))
    }

    /// A column added after records were first written (schema v2): hashed
    /// only when set, so that every record without it keeps the hash it was
    /// written with. A set value is one more length-prefixed field after the
    /// last v1 column, where no v1 record has anything: records still never
    /// hash alike. A column added after this one must not reuse the trick
    /// as it is: with `count` absent and it present, the two would hash like
    /// `count` present alone. Such a column hashes every absent later column
    /// before it as `-;` once any later column is set.
    mutating func laterInteger(_ value: Int64?) {
        guard let value else { return columns.append(.null) }
        appendNumber(value)
        columns.append(.integer(value))
    }

    /// The columns after v1's: `count` (v2), `method`, `path`, `status`
    /// (v5, a request carried as HTTP) and `query_type` (v6, a DNS query).
    /// Records without any of them hash as they were written
    /// (`laterInteger` for `count` alone); once a v5 column is set, the v5
    /// columns are hashed too, an absent `count` as `-;`, which no earlier
    /// record has after its last v1 column; once `query_type` is set, every
    /// later column is hashed, one field more than any v5 record has.
    mutating func laterColumns(count: Int64?, method: String?, path: String?, status: Int?, queryType: String?) {
        guard method != nil || path != nil || status != nil || queryType != nil else {
            laterInteger(count)
            for _ in 0..<4 { columns.append(.null) }
            return
        }
        integer(count)
        text(method)
        text(path)
        integer(status.map(Int64.init))
        if queryType != nil {
            text(queryType)
        } else {
            columns.append(.null)
        }
    }

    /// Hashed as the text `1` or `0`, stored as an integer.
    mutating func flag(_ value: Bool?) {
        guard let value else { return null() }
        bytes.append(contentsOf: value ? Self.one : Self.zero)
        columns.append(.integer(value ? 1 : 0))
    }

    /// The record's hash, as lower-case hex.
    func hash() -> [UInt8] {
        var hex: [UInt8] = []
        hash(into: &hex)
        return hex
    }

    /// The record's hash, as lower-case hex, in place of what `hex` held:
    /// the writer reuses one array for every record of a batch.
    func hash(into hex: inout [UInt8]) {
        hex.removeAll(keepingCapacity: true)
        hex.reserveCapacity(64)
        for byte in SHA256.hash(data: bytes) {
            hex.append(Self.digits[Int(byte >> 4)])
            hex.append(Self.digits[Int(byte & 0x0f)])
        }
    }

    private static let digits = Array("0123456789abcdef".utf8)
    private static let one = Array("1:1".utf8)
    private static let zero = Array("1:0".utf8)

    private mutating func null() {
        bytes.append(UInt8(ascii: "-"))
        bytes.append(UInt8(ascii: ";"))
        columns.append(.null)
    }

    /// `count:` as decimal text.
    private mutating func appendLength(_ count: Int) {
        appendDecimal(UInt64(count))
        bytes.append(UInt8(ascii: ":"))
    }

    /// A number as a field: its decimal text, length-prefixed.
    private mutating func appendNumber(_ value: Int64) {
        let magnitude = value.magnitude
        let digits = Self.decimalDigits(magnitude) + (value < 0 ? 1 : 0)
        appendLength(digits)
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDecimal(magnitude)
    }

    private mutating func appendDecimal(_ value: UInt64) {
        let count = Self.decimalDigits(value)
        let end = bytes.count + count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: count))
        var rest = value
        var index = end
        repeat {
            index -= 1
            bytes[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        } while rest > 0
    }

    private static func decimalDigits(_ value: UInt64) -> Int {
        var count = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            count += 1
        }
        return count
    }
}
