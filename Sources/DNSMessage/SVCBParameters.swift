/// The data of SVCB and HTTPS records (RFC 9460): a priority, a target name
/// (never compressed), and parameters as key, length, value. An enforcer of
/// SNI takes the `ech` parameter out, so that clients keep sending a
/// readable server name.
public enum SVCBParameters {
    /// The `ech` parameter's key (RFC 9460, 14.3.2).
    public static let ech: UInt16 = 5
    /// The `mandatory` parameter's key: the keys a client must understand.
    public static let mandatory: UInt16 = 0

    public struct Malformed: Error, Equatable {}

    /// The data without `key` (and without it in `mandatory`); nil when the
    /// data has no such parameter. Throws on data that does not parse.
    public static func removing(_ key: UInt16, from data: [UInt8]) throws -> [UInt8]? {
        guard data.count >= 3 else { throw Malformed() }
        var offset = 2
        // The target name: labels up to the root, no pointers.
        while true {
            guard offset < data.count else { throw Malformed() }
            let length = Int(data[offset])
            guard length & 0xC0 == 0 else { throw Malformed() }
            offset += 1 + length
            if length == 0 { break }
        }
        guard offset <= data.count else { throw Malformed() }
        var out = Array(data[..<offset])
        var found = false
        while offset < data.count {
            guard offset + 4 <= data.count else { throw Malformed() }
            let paramKey = UInt16(data[offset]) << 8 | UInt16(data[offset + 1])
            let length = Int(data[offset + 2]) << 8 | Int(data[offset + 3])
            guard offset + 4 + length <= data.count else { throw Malformed() }
            let value = Array(data[(offset + 4)..<(offset + 4 + length)])
            offset += 4 + length
            if paramKey == key {
                found = true
                continue
            }
            if paramKey == mandatory, value.count % 2 == 0 {
                let keys = stride(from: 0, to: value.count, by: 2).map { UInt16(value[$0]) << 8 | UInt16(value[$0 + 1]) }
                let kept = keys.filter { $0 != key }
                if kept.count != keys.count {
                    found = true
                    // A mandatory list left empty is not allowed: it goes too.
                    if kept.isEmpty { continue }
                    DNSWriter.u16(mandatory, &out)
                    DNSWriter.u16(UInt16(kept.count * 2), &out)
                    for k in kept { DNSWriter.u16(k, &out) }
                    continue
                }
            }
            out += data[(offset - 4 - length)..<offset]
        }
        return found ? out : nil
    }
}

extension DNSMessage {
    /// The message with `ech` taken out of every SVCB and HTTPS record, and
    /// whether anything was taken. A record whose data does not parse is
    /// dropped rather than passed on with what it may hide.
    public func strippingECH() -> (message: DNSMessage, changed: Bool) {
        var changed = false
        func strip(_ records: [Record]) -> [Record] {
            records.compactMap { record in
                guard record.type == RecordType.https || record.type == RecordType.svcb else { return record }
                do {
                    guard let data = try SVCBParameters.removing(SVCBParameters.ech, from: record.data) else { return record }
                    changed = true
                    var copy = record
                    copy.data = data
                    return copy
                } catch {
                    changed = true
                    return nil
                }
            }
        }
        var message = self
        message.answers = strip(answers)
        message.authorities = strip(authorities)
        message.additionals = strip(additionals)
        return (message, changed)
    }
}
