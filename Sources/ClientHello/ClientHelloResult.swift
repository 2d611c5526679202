/// What the first bytes of a connection say about the server it wants.
public enum ClientHelloResult: Equatable, Sendable {
    /// The server name, lower-cased, without one trailing dot. `ech`: an encrypted_client_hello extension (0xfe0d) is present.
    case sni(String, ech: Bool)
    /// A well-formed ClientHello without a server_name extension (or with no host_name entry).
    case noSNI(ech: Bool)
    /// The first bytes are not a TLS handshake record (e.g. plain HTTP, SSH).
    case notTLS
    /// TLS, but broken: `reason` says what was wrong and where (e.g. "extension 0 (server_name) length 300 exceeds the 12 bytes left in the extensions").
    case malformed(String)
}
