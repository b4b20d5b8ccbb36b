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
        .library(name: "MoviolaStore", targets: ["MoviolaStore"]),
        .library(name: "MoviolaWorker", targets: ["MoviolaWorker"]),
        .library(name: "MoviolaServer", targets: ["MoviolaServer"]),
        .library(name: "MoviolaSafety", targets: ["MoviolaSafety"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.3.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/vapor/sql-kit", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit", from: "2.17.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
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
        .systemLibrary(
            name: "CCrypt",
            providers: [.apt(["libcrypt-dev"])]
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
        .target(
            name: "MoviolaSafety",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Resources")]
        ),
        .target(
            name: "MoviolaStore",
            dependencies: [
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "MoviolaWorker",
            dependencies: [
                "MoviolaEngine", "MoviolaMedia", "MoviolaTensor",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "MoviolaServer",
            dependencies: [
                "CCrypt",
                "MoviolaStore",
                "MoviolaWorker",
                "MoviolaMedia",
                "MoviolaProvenance",
                "MoviolaEngine",
                "MoviolaSafety",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Resources")]
        ),
        .executableTarget(
            name: "moviola",
            dependencies: [
                "MoviolaStore",
                "MoviolaWorker",
                "MoviolaServer",
                "MoviolaSafety",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
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
            name: "MoviolaSafetyTests",
            dependencies: ["MoviolaSafety"]
        ),
        .testTarget(
            name: "MoviolaServerTests",
            dependencies: ["MoviolaServer"]
        ),
        .testTarget(
            name: "MoviolaStoreTests",
            dependencies: ["MoviolaStore", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "MoviolaEngineTests",
            dependencies: ["MoviolaEngine", "MoviolaTensor"],
            resources: []
        ),
    ],
    swiftLanguageModes: [.v6]
)
