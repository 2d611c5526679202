/// Assembles ClientHellos byte by byte, so that a test can state the one
/// field it breaks and leave every other length consistent.
public struct HelloBuilder {
    public var legacyVersion: [UInt8] = [3, 3]
    public var random = [UInt8](repeating: 0xAB, count: 32)
    public var sessionID = [UInt8](repeating: 0x5E, count: 32)
    public var cipherSuites: [UInt8] = [0x13, 0x01, 0x13, 0x02, 0xC0, 0x2F]
    public var compressionMethods: [UInt8] = [0]
    /// (type, body); nil leaves the extensions block out, as TLS 1.2 allows.
    public var extensions: [(type: UInt16, body: [UInt8])]? = [
        (10, [0, 4, 0, 29, 0, 23]),  // supported_groups: x25519, secp256r1
        (43, [2, 3, 4]),  // supported_versions: TLS 1.3
    ]
    /// Replaces the serialized extensions block contents (after its length).
    public var rawExtensions: [UInt8]?
    /// Overrides the extensions block length field.
    public var extensionsLength: Int?
    /// Overrides the session id length byte.
    public var sessionIDLength: UInt8?
    /// Overrides the cipher suites length field.
    public var cipherSuitesLength: Int?

    /// A ClientHello asking for `host`, with the default extensions around it.
    public init(host: String? = nil, ech: Bool = false) {
        if let host { addServerName(host) }
        if ech { extensions?.append((0xfe0d, [0, 0, 1, 0, 1, 7, 0, 0, 0, 0])) }
    }

    public mutating func addServerName(_ host: String) {
        extensions?.insert((0, Self.serverName(host)), at: 0)
    }

    /// A server_name extension body with one host_name entry.
    public static func serverName(_ host: String) -> [UInt8] {
        serverNameList([(0, Array(host.utf8))])
    }

    /// A server_name extension body with the given (name_type, name) entries.
    public static func serverNameList(_ entries: [(UInt8, [UInt8])]) -> [UInt8] {
        var list: [UInt8] = []
        for (type, name) in entries {
            list.append(type)
            list += u16(name.count) + name
        }
        return u16(list.count) + list
    }

    /// The handshake body: what the 4-byte handshake header's length counts.
    public var body: [UInt8] {
        var out = legacyVersion + random
        out.append(sessionIDLength ?? UInt8(sessionID.count))
        out += sessionID
        out += Self.u16(cipherSuitesLength ?? cipherSuites.count) + cipherSuites
        out.append(UInt8(compressionMethods.count))
        out += compressionMethods
        if rawExtensions != nil || extensions != nil {
            let block =
                rawExtensions
                ?? (extensions ?? []).flatMap { Self.u16(Int($0.type)) + Self.u16($0.body.count) + $0.body }
            out += Self.u16(extensionsLength ?? block.count) + block
        }
        return out
    }

    /// The handshake message: type client_hello, 24-bit length, body.
    public var handshake: [UInt8] { Self.handshake(body) }

    /// The hello in one TLS record, as a client would send it.
    public var bytes: [UInt8] { Self.record(handshake) }

    /// The hello cut into TLS records of at most `size` bytes each.
    public func records(ofSize size: Int) -> [UInt8] {
        Self.records(handshake, ofSize: size)
    }

    public static func handshake(_ body: [UInt8], type: UInt8 = 1) -> [UInt8] {
        [type, UInt8(body.count >> 16 & 0xFF), UInt8(body.count >> 8 & 0xFF), UInt8(body.count & 0xFF)] + body
    }

    public static func record(_ payload: [UInt8], type: UInt8 = 22, version: [UInt8] = [3, 1]) -> [UInt8] {
        [type] + version + u16(payload.count) + payload
    }

    public static func records(_ handshake: [UInt8], ofSize size: Int) -> [UInt8] {
        stride(from: 0, to: handshake.count, by: size).flatMap { start in
            record(Array(handshake[start..<min(start + size, handshake.count)]))
        }
    }

    public static func u16(_ value: Int) -> [UInt8] {
        [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
