// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Moviola",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "moviola", targets: ["moviola"]),
        .library(name: "MoviolaEngine", targets: ["MoviolaEngine"]),
        .library(name: "MoviolaTensor", targets: ["MoviolaTensor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(
            name: "MoviolaTensor",
            dependencies: ["COpenBLAS"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"])]
        ),
        .target(
            name: "MoviolaEngine",
            dependencies: ["MoviolaTensor"]
        ),
        .executableTarget(
            name: "moviola",
            dependencies: [
                "MoviolaEngine",
                "MoviolaTensor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "MoviolaTensorTests",
            dependencies: ["MoviolaTensor"]
        ),
        .testTarget(
            name: "MoviolaEngineTests",
            dependencies: ["MoviolaEngine", "MoviolaTensor"],
            resources: []
        ),
    ],
    swiftLanguageModes: [.v6]
)
