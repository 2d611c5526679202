// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "egress",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "PolicyLang", targets: ["PolicyLang"]),
        .library(name: "EgressAPI", targets: ["EgressAPI"]),
        .library(name: "PDP", targets: ["PDP"]),
        .executable(name: "egressctl", targets: ["egressctl"]),
        .library(name: "ClientHello", targets: ["ClientHello"]),
        .library(name: "DNSMessage", targets: ["DNSMessage"]),
        .library(name: "PEP", targets: ["PEP"]),
        .executable(name: "egress-pdp", targets: ["egress-pdp"]),
        .executable(name: "egress-pep", targets: ["egress-pep"]),
        .executable(name: "egress-dns", targets: ["egress-dns"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // The policy language: parser, compiler, evaluator, linter, formatter.
        // Standard library only: no Foundation, no NIO, no I/O.
        .target(name: "PolicyLang"),
        .executableTarget(
            name: "egressctl",
            dependencies: [
                "PolicyLang",
                "EgressAPI",
                "LocalFiles",
                "WorkloadsFile",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // malloc_trim, which the Glibc module does not export.
        .target(name: "CMemory"),
        // The wire types of both APIs, defined once: the decision API's
        // request, answer, watch event and access report (encoded and decoded
        // here), and the admin API's messages, shared by the service, the
        // enforcers and egressctl.
        .target(
            name: "EgressAPI",
            dependencies: ["PolicyLang", .product(name: "NIOCore", package: "swift-nio")]),
        // Connection caps per source address, shared by both daemons.
        // Standard library only.
        .target(name: "ConnectionLimits"),
        // Lines of a watch stream, each capped, wherever its chunks are cut:
        // for the Kubernetes API's watch and the decision service's.
        .target(name: "StreamLines", dependencies: [.product(name: "NIOCore", package: "swift-nio")]),
        // A client of the Kubernetes API for the inventory: where the API
        // server is (in-cluster or a kubeconfig), and lists and watches of
        // pods and namespaces over async-http-client.
        .target(
            name: "KubernetesClient",
            dependencies: [
                "StreamLines",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]),
        // The daemons' options (flag, environment variable, range) and
        // HOST:PORT, read one way by both.
        .target(name: "DaemonOptions"),
        // Files an operator keeps: a policy directory, a file watched for
        // changes (FileStamp).
        .target(name: "LocalFiles", dependencies: ["EgressAPI"]),
        // The workloads file (YAML or JSON), read one way by the service and
        // egressctl.
        .target(name: "WorkloadsFile", dependencies: ["EgressAPI", .product(name: "Yams", package: "Yams")]),
        // The policy decision point: store, decision API, admin API, audit.
        .target(
            name: "PDP",
            dependencies: [
                "KubernetesClient",
                "PolicyLang",
                "EgressAPI",
                "CMemory",
                "ConnectionLimits",
                "LocalFiles",
                "WorkloadsFile",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.copy("Resources/openapi.yaml")]
        ),
        .executableTarget(
            name: "egress-pdp",
            dependencies: [
                "PDP",
                "DaemonOptions",
                "KubernetesClient",
                "PolicyLang",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // DNS messages (RFC 1035, EDNS, Extended DNS Errors, SVCB): the DNS
        // enforcer's codec. Standard library only, like the ClientHello
        // reader, so that it fuzzes alone.
        .target(name: "DNSMessage"),
        // The TLS ClientHello reader: finds the SNI in bytes from a socket.
        // Standard library only, like PolicyLang, so that it fuzzes alone.
        .target(name: "ClientHello"),
        // What every enforcer shares: the decision service's client, the
        // verdict cache and its watch, the connection reports, metrics, the
        // admin listener.
        .target(
            name: "EnforcerCore",
            dependencies: [
                "EgressAPI",
                "StreamLines",
                "DaemonOptions",
                "LocalFiles",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The SNI enforcer: the transparent and CONNECT proxy on the core.
        .target(
            name: "PEP",
            dependencies: [
                "EnforcerCore",
                "ClientHello",
                "ConnectionLimits",
                "DaemonOptions",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The DNS enforcer: a forwarding resolver on the core that answers
        // only names the workload may reach.
        .target(
            name: "DNSEnforcer",
            dependencies: [
                "EnforcerCore",
                "DNSMessage",
                "ConnectionLimits",
                "EgressAPI",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "egress-dns",
            dependencies: [
                "DNSEnforcer",
                "DNSMessage",
                "EnforcerCore",
                "DaemonOptions",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The node's interception rules (iptables), for egress-pep as a
        // node agent: Foundation only, as it runs the iptables commands.
        .target(name: "Intercept"),
        .executableTarget(
            name: "egress-pep",
            dependencies: [
                "PEP",
                "Intercept",
                "EnforcerCore",
                "DaemonOptions",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What several test targets share (a seeded random generator).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ClientHelloTests", dependencies: ["ClientHello", "TestSupport"], resources: [.copy("Captures")]),
        .testTarget(name: "PolicyLangTests", dependencies: ["PolicyLang"], resources: [.copy("Golden")]),
        .testTarget(name: "EgressctlTests", dependencies: ["egressctl", "PolicyLang", "TestSupport"]),
        .testTarget(name: "DNSMessageTests", dependencies: ["DNSMessage", "TestSupport"]),
        .testTarget(name: "DNSEnforcerTests", dependencies: ["DNSEnforcer", "DNSMessage", "EnforcerCore", "TestSupport", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(name: "EgressAPITests", dependencies: ["EgressAPI", "PolicyLang", "TestSupport"]),
        // A real egress-pdp process for the tests that talk to one.
        .target(name: "ServiceTestSupport", dependencies: ["TestSupport"], path: "Tests/ServiceTestSupport"),
        .testTarget(
            name: "PDPTests",
            dependencies: [
                "egress-pdp", "egressctl", "PDP", "KubernetesClient", "StreamLines", "TestSupport", "ServiceTestSupport",
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ]),
        // The enforcer's client against a real decision service.
        .testTarget(
            name: "EnforcerClientTests",
            dependencies: ["egress-pdp", "EnforcerCore", "EgressAPI", "ServiceTestSupport", "TestSupport", .product(name: "NIOHTTP2", package: "swift-nio-http2")]),
        .testTarget(
            name: "PEPTests",
            dependencies: [
                "PEP", "Intercept", "EnforcerCore", "EgressAPI", "ConnectionLimits", "LocalFiles", "TestSupport", .product(name: "NIOEmbedded", package: "swift-nio"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
