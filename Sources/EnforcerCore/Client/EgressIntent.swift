/// What a workload asks to reach, in the same terms whatever it speaks: an
/// enforcer reads it from its own protocol (a ClientHello's SNI, an HTTP
/// request's Host, a DNS question) and hands it to what decides. The source
/// is the address the enforcer saw, never anything the workload said.
public struct EgressIntent: Sendable, Hashable, CustomStringConvertible {
    /// What the enforcer read the host from. It decides nothing on its own;
    /// it says which path of an enforcer the intent came through.
    public enum Transport: String, Sendable {
        /// A TLS ClientHello; the host is its SNI.
        case tls
        /// A plain HTTP request the enforcer carries out as TLS; the host is its Host.
        case http
    }

    public var sourceIP: String
    public var host: String
    public var port: Int
    public var transport: Transport

    public init(sourceIP: String, host: String, port: Int, transport: Transport) {
        self.sourceIP = sourceIP
        self.host = host
        self.port = port
        self.transport = transport
    }

    /// The key its verdict is asked and cached under.
    public var verdictKey: VerdictKey { VerdictKey(sourceIP: sourceIP, host: host, port: port) }

    public var description: String { "\(transport.rawValue) \(verdictKey)" }
}
