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
        .systemLibrary(
            name: "CFFmpeg",
            pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev"])]
        ),
        .target(
            name: "MoviolaMedia",
            dependencies: ["CFFmpeg"]
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
            name: "MoviolaEngineTests",
            dependencies: ["MoviolaEngine", "MoviolaTensor"],
            resources: []
        ),
    ],
    swiftLanguageModes: [.v6]
)
