// swift-tools-version: 6.1
// Benchmarks for the policy language (ordo-one/benchmark). A separate package
// so that building and testing the product does not build the benchmark
// harness. Run: bench/policy-bench
import PackageDescription

let package = Package(
    name: "egress-bench",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "egress", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Deterministic generator of policy sets, workloads and requests.
        .target(name: "PolicyGen", dependencies: [.product(name: "PolicyLang", package: "egress")]),
        .executableTarget(name: "generate-policies", dependencies: ["PolicyGen"]),
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
