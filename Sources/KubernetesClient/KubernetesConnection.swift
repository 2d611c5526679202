import Foundation
import NIOSSL
import Yams

/// Where the Kubernetes API server is and how to prove who we are to it:
/// from inside a pod (the service account's token and CA at their standard
/// paths) or from a kubeconfig's current context. TLS is always verified.
public struct KubernetesConnection: Sendable {
    /// How requests authenticate.
    public enum Credential: Sendable {
        /// A bearer token read from this file before every request: projected
        /// tokens rotate, and a new one is used without a restart.
        case tokenFile(String)
        case token(String)
        /// A client certificate and its key, PEM.
        case certificate(chain: [UInt8], key: [UInt8])
        case none
    }

    /// `https://HOST:PORT`, without a trailing slash.
    public var server: String
    /// The CA certificates (PEM) the server's certificate must chain to;
    /// nil: the system's.
    public var certificateAuthority: [UInt8]?
    public var credential: Credential

    public init(server: String, certificateAuthority: [UInt8]?, credential: Credential) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.certificateAuthority = certificateAuthority
        self.credential = credential
    }

    /// Why a connection cannot be made; the message says what and where.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The standard in-cluster configuration: `KUBERNETES_SERVICE_HOST` and
    /// `_PORT`, and the service account's `token` and `ca.crt` in
    /// `serviceAccountDirectory`.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccountDirectory: String = "/var/run/secrets/kubernetes.io/serviceaccount"
    ) throws -> KubernetesConnection {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw Invalid("--kubernetes: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not running in a pod?); use --kubeconfig")
        }
        let token = serviceAccountDirectory + "/token"
        guard FileManager.default.isReadableFile(atPath: token) else { throw Invalid("--kubernetes: cannot read the service account token \(token)") }
        let ca = try read(serviceAccountDirectory + "/ca.crt", "the service account's CA")
        let address = host.contains(":") ? "[\(host)]" : host
        return KubernetesConnection(server: "https://\(address):\(port)", certificateAuthority: ca, credential: .tokenFile(token))
    }

    /// The current context of the kubeconfig at `path`: its cluster's
    /// server and CA (file or data), and its user's token (or token file)
    /// or client certificate and key (file or data). Relative file paths
    /// are taken from the kubeconfig's directory, as kubectl does.
    public static func kubeconfig(_ path: String) throws -> KubernetesConnection {
        let text = String(decoding: try read(path, "the kubeconfig"), as: UTF8.self)
        let config: Kubeconfig
        do {
            config = try YAMLDecoder().decode(Kubeconfig.self, from: text)
        } catch {
            throw Invalid("\(path): not a kubeconfig: \(error)")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        func file(_ name: String) -> String { name.hasPrefix("/") ? name : base.appendingPathComponent(name).path }
        guard let current = config.currentContext else { throw Invalid("\(path): no current-context") }
        guard let context = config.contexts?.first(where: { $0.name == current })?.context else {
            throw Invalid("\(path): the current context '\(current)' is not defined")
        }
        guard let cluster = config.clusters?.first(where: { $0.name == context.cluster })?.cluster else {
            throw Invalid("\(path): the cluster '\(context.cluster)' of context '\(current)' is not defined")
        }
        if cluster.insecureSkipTLSVerify == true {
            throw Invalid("\(path): cluster '\(context.cluster)' sets insecure-skip-tls-verify; the API server's certificate is always verified: give its CA (certificate-authority or certificate-authority-data)")
        }
        let ca: [UInt8]?
        if let data = cluster.certificateAuthorityData {
            ca = try decode(data, "\(path): certificate-authority-data")
        } else if let name = cluster.certificateAuthority {
            ca = try read(file(name), "the cluster's CA")
        } else {
            ca = nil
        }
        let user = context.user.flatMap { name in config.users?.first { $0.name == name }?.user }
        let credential: Credential
        if let token = user?.token {
            credential = .token(token)
        } else if let tokenFile = user?.tokenFile {
            credential = .tokenFile(file(tokenFile))
        } else if let user, user.clientCertificate != nil || user.clientCertificateData != nil {
            let chain = try user.clientCertificateData.map { try decode($0, "\(path): client-certificate-data") }
                ?? read(file(user.clientCertificate ?? ""), "the client certificate")
            guard let keyData = try user.clientKeyData.map({ try decode($0, "\(path): client-key-data") })
                ?? user.clientKey.map({ try read(file($0), "the client key") })
            else { throw Invalid("\(path): user '\(context.user ?? "")' has a client certificate but no client key") }
            credential = .certificate(chain: chain, key: keyData)
        } else {
            credential = .none
        }
        return KubernetesConnection(server: cluster.server, certificateAuthority: ca, credential: credential)
    }

    private static func read(_ path: String, _ what: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw Invalid("cannot read \(what) at \(path)") }
        return Array(data)
    }

    private static func decode(_ base64: String, _ what: String) throws -> [UInt8] {
        guard let data = Data(base64Encoded: base64, options: .ignoreUnknownCharacters) else { throw Invalid("\(what) is not base64") }
        return Array(data)
    }

    /// The TLS configuration for requests: TLS 1.2 or later, the server's
    /// certificate verified against `certificateAuthority`.
    func tlsConfiguration() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        tls.certificateVerification = .fullVerification
        if let certificateAuthority {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(certificateAuthority))
        }
        if case .certificate(let chain, let key) = credential {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(chain).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
        }
        return tls
    }

    /// The `Authorization` header for the next request, if any.
    func authorization() throws -> String? {
        switch credential {
        case .token(let token): return "Bearer \(token)"
        case .tokenFile(let path):
            let token = String(decoding: try Self.read(path, "the token"), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            return "Bearer \(token)"
        case .certificate, .none: return nil
        }
    }
}

/// The parts of a kubeconfig file this client reads.
struct Kubeconfig: Decodable {
    struct NamedCluster: Decodable {
        var name: String
        var cluster: Cluster
    }

    struct Cluster: Decodable {
        var server: String
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        var insecureSkipTLSVerify: Bool?

        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        }
    }

    struct NamedUser: Decodable {
        var name: String
        var user: User
    }

    struct User: Decodable {
        var token: String?
        var tokenFile: String?
        var clientCertificate: String?
        var clientCertificateData: String?
        var clientKey: String?
        var clientKeyData: String?

        enum CodingKeys: String, CodingKey {
            case token, tokenFile
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
        }
    }

    struct NamedContext: Decodable {
        var name: String
        var context: Context
    }

    struct Context: Decodable {
        var cluster: String
        var user: String?
    }

    var clusters: [NamedCluster]?
    var users: [NamedUser]?
    var contexts: [NamedContext]?
    var currentContext: String?

    enum CodingKeys: String, CodingKey {
        case clusters, users, contexts
        case currentContext = "current-context"
    }
}
