/// The body of a server_name extension (RFC 6066 §3): a ServerNameList of
/// (name_type, opaque name<1..2^16-1>) entries.
enum ServerNameList {
    static let hostNameType: UInt8 = 0

    /// The host_name entry, normalized, or nil if there is none. Every
    /// entry's length is checked, not just the first one's, so that a list
    /// this reader accepts is one any other parser would also accept.
    static func firstHostName(_ body: inout ByteReader) throws(MalformedHello) -> String? {
        let listLength = try body.readUInt16("server_name list length")
        guard listLength == body.remaining else {
            throw MalformedHello(
                "server_name list length \(listLength) does not match the "
                    + "\(MalformedHello.bytes(body.remaining)) left in the server_name extension")
        }
        guard listLength > 0 else { throw MalformedHello("server_name list is empty") }
        var list = try body.vector(listLength, "server_name list", container: "the server_name list")
        var hostName: String?
        while !list.isEmpty {
            let nameType = try list.readUInt8("server_name entry type")
            let length = try list.readUInt16("server_name entry length")
            let entry = try list.vector(length, "server_name entry (type \(nameType))", container: "the entry")
            if nameType == hostNameType {
                // RFC 6066: at most one name of each type. Two would let two
                // parsers disagree about which one the connection is for.
                guard hostName == nil else { throw MalformedHello("server_name list has more than one host_name") }
                hostName = try HostName.normalize(entry.rest)
            }
        }
        return hostName
    }
}
