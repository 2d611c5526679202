/// Parses one complete ClientHello handshake body (RFC 8446 §4.1.2, and the
/// TLS 1.2 form that may end after the compression methods) and finds the
/// server name in it. It runs once per connection, on the bytes that
/// `ClientHelloReader` collected, so it is free to be simple rather than
/// incremental.
enum ClientHelloParser {
    static let maxSessionIDLength = 32

    /// Parses `bytes[start..<end]`, the handshake body without its 4-byte header.
    static func parse(_ bytes: [UInt8], start: Int, end: Int) -> ClientHelloResult {
        var hello = ByteReader(bytes, start: start, end: end, container: "the ClientHello")
        do {
            return try parse(&hello)
        } catch {
            return .malformed(error.reason)
        }
    }

    private static func parse(_ hello: inout ByteReader) throws(MalformedHello) -> ClientHelloResult {
        try hello.skip(2, "legacy_version")
        try hello.skip(32, "random")

        let sessionIDLength = Int(try hello.readUInt8("session id length"))
        guard sessionIDLength <= maxSessionIDLength else {
            throw MalformedHello("session id length \(sessionIDLength) exceeds the maximum of \(maxSessionIDLength)")
        }
        _ = try hello.vector(sessionIDLength, "session id", container: "the session id")

        let cipherSuitesLength = try hello.readUInt16("cipher suites length")
        guard cipherSuitesLength > 0, cipherSuitesLength % 2 == 0 else {
            throw MalformedHello("cipher suites length \(cipherSuitesLength) is not a positive even number")
        }
        _ = try hello.vector(cipherSuitesLength, "cipher suites", container: "the cipher suites")

        let compressionLength = Int(try hello.readUInt8("compression methods length"))
        guard compressionLength > 0 else { throw MalformedHello("compression methods are empty") }
        _ = try hello.vector(compressionLength, "compression methods", container: "the compression methods")

        // TLS 1.2 and earlier allow a hello with no extensions block at all.
        if hello.isEmpty { return .noSNI(ech: false) }
        let extensionsLength = try hello.readUInt16("extensions length")
        guard extensionsLength == hello.remaining else {
            throw MalformedHello(
                "extensions length \(extensionsLength) does not match the "
                    + "\(MalformedHello.bytes(hello.remaining)) left in the ClientHello")
        }
        var extensions = try hello.vector(extensionsLength, "extensions", container: "the extensions")
        return try readExtensions(&extensions)
    }

    private static func readExtensions(_ extensions: inout ByteReader) throws(MalformedHello) -> ClientHelloResult {
        var seen = Set<UInt16>()
        var hostName: String?
        while !extensions.isEmpty {
            let type = UInt16(try extensions.readUInt16("extension type"))
            // Descriptions are built only for a message: this loop runs for
            // every extension of every connection.
            let length = try extensions.readUInt16("extension \(ExtensionType.describe(type)) length")
            if type == ExtensionType.serverName {
                var body = try extensions.vector(
                    length, "extension \(ExtensionType.describe(type))", container: "extension \(ExtensionType.describe(type))")
                try noteFirst(type, in: &seen)
                hostName = try ServerNameList.firstHostName(&body)
            } else {
                try extensions.skipVector(length, "extension \(ExtensionType.describe(type))")
                try noteFirst(type, in: &seen)
            }
        }
        let ech = seen.contains(ExtensionType.encryptedClientHello)
        guard let hostName else { return .noSNI(ech: ech) }
        return .sni(hostName, ech: ech)
    }

    /// RFC 8446 §4.2: "There MUST NOT be more than one extension of the same
    /// type." A second server_name is also the classic way to make two
    /// parsers disagree about the SNI.
    private static func noteFirst(_ type: UInt16, in seen: inout Set<UInt16>) throws(MalformedHello) {
        guard seen.insert(type).inserted else { throw MalformedHello("duplicate extension \(ExtensionType.describe(type))") }
    }
}
