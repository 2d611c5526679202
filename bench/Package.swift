// swift-tools-version: 6.1
// Benchmarks for the policy language (ordo-one/benchmark), and nio-relay for
// bench/pep-bench. A separate package so that building and testing the
// product does not build the benchmark harness. Run: bench/policy-bench
import PackageDescription

let package = Package(
    name: "egress-bench",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "egress", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // Deterministic generator of policy sets, workloads and requests.
        .target(name: "PolicyGen", dependencies: [.product(name: "PolicyLang", package: "egress")]),
        .executableTarget(name: "generate-policies", dependencies: ["PolicyGen"]),
        // A plain SwiftNIO relay, beside egress-pep in bench/pep-bench's latency figures.
        .executableTarget(
            name: "nio-relay",
            dependencies: [
                .product(name: "PEP", package: "egress"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // A plain SwiftNIO HTTP-to-TLS proxy, beside egress-pep in bench/http-origin-bench.
        .executableTarget(
            name: "nio-http-origin",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // A plain SwiftNIO DNS forwarder, beside egress-dns in bench/dns-bench.
        .executableTarget(
            name: "nio-dns-forward",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "PolicyBenchmarks",
            dependencies: [
                "PolicyGen",
                .product(name: "PolicyLang", package: "egress"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/PolicyBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
