// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "egress",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "PolicyLang", targets: ["PolicyLang"]),
        .executable(name: "egressctl", targets: ["egressctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The policy language: parser, compiler, evaluator, linter, formatter.
        // Standard library only: no Foundation, no NIO, no I/O.
        .target(name: "PolicyLang"),
        .executableTarget(
            name: "egressctl",
            dependencies: [
                "PolicyLang",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "PolicyLangTests", dependencies: ["PolicyLang"], resources: [.copy("Golden")]),
        .testTarget(name: "EgressctlTests", dependencies: ["egressctl", "PolicyLang"]),
    ],
    swiftLanguageModes: [.v6]
)
