// swift-tools-version: 6.1
// libFuzzer targets. A separate package because they need unsafe flags:
// build with `swift build --sanitize=fuzzer --sanitize=address` (see Fuzz/run).
import PackageDescription

let package = Package(
    name: "egress-fuzz",
    dependencies: [.package(name: "egress", path: "..")],
    targets: [
        .executableTarget(
            name: "PolicyFuzz",
            dependencies: [.product(name: "PolicyLang", package: "egress")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "ClientHelloFuzz",
            dependencies: [.product(name: "ClientHello", package: "egress")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .executableTarget(
            name: "DNSFuzz",
            dependencies: [.product(name: "DNSMessage", package: "egress")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ],
    swiftLanguageModes: [.v6]
)
