// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Moviola",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "moviola", targets: ["moviola"]),
        .library(name: "MoviolaEngine", targets: ["MoviolaEngine"]),
        .library(name: "MoviolaTensor", targets: ["MoviolaTensor"]),
        .library(name: "MoviolaMedia", targets: ["MoviolaMedia"]),
        .library(name: "MoviolaProvenance", targets: ["MoviolaProvenance"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.3.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CFFmpeg",
            pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev"])]
        ),
        .systemLibrary(
            name: "CFreeType",
            pkgConfig: "freetype2",
            providers: [.apt(["libfreetype-dev"])]
        ),
        .target(
            name: "MoviolaMedia",
            dependencies: ["CFFmpeg", "CFreeType"],
            resources: [.copy("Fonts")]
        ),
        .target(
            name: "MoviolaProvenance",
            dependencies: [
                "MoviolaMedia",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        .target(
            name: "CMoviolaKernels",
            cSettings: [.unsafeFlags(["-O3"])]
        ),
        .target(
            name: "MoviolaTensor",
            dependencies: ["COpenBLAS", "CMoviolaKernels"],
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
                "MoviolaMedia",
                "MoviolaProvenance",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "MoviolaTensorTests",
            dependencies: ["MoviolaTensor"]
        ),
        .testTarget(
            name: "MoviolaMediaTests",
            dependencies: ["MoviolaMedia"]
        ),
        .testTarget(
            name: "MoviolaProvenanceTests",
            dependencies: ["MoviolaProvenance", "MoviolaMedia"]
        ),
        .testTarget(
            name: "MoviolaEngineTests",
            dependencies: ["MoviolaEngine", "MoviolaTensor"],
            resources: []
        ),
    ],
    swiftLanguageModes: [.v6]
)
