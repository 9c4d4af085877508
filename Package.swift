// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "tasks-api",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tasks-api", targets: ["tasks-api"]),
        .library(name: "Flagon", targets: ["Flagon"]),
        // For the fuzz targets in Fuzz/, a separate package.
        .library(name: "FastCGI", targets: ["FastCGI"]),
        .library(name: "TasksAPI", targets: ["TasksAPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // libfcgi from Debian's libfcgi-dev; only Sources/FastCGI/FCGX.swift touches it.
        .systemLibrary(
            name: "CFastCGI",
            pkgConfig: "fcgi",
            providers: [.apt(["libfcgi-dev"])]
        ),
        // libargon2 from Debian's libargon2-dev; only Sources/TasksAPI/Accounts/PasswordHasher.swift touches it.
        .systemLibrary(
            name: "CArgon2",
            pkgConfig: "libargon2",
            providers: [.apt(["libargon2-dev"])]
        ),
        // libpq (Debian's libpq-dev for the header, libpq5 at run time), loaded with dlopen
        // only when DATABASE_URL names PostgreSQL; only Storage/Postgres*.swift touch it.
        .target(name: "CLibPQ", linkerSettings: [.linkedLibrary("dl")]),
        // Atomics on raw words of the host region, SipHash and memfd_create, in C.
        .target(name: "CHostRegion"),
        // The host's shared-memory region: its header, sections and rate-limit table.
        .target(name: "HostRegion", dependencies: ["CHostRegion"]),
        // The web framework: request, response, routing, middleware, errors, config,
        // test client. No FastCGI, no storage.
        .target(
            name: "Flagon",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The FastCGI transport: worker loop on libfcgi, listeners, the master process.
        .target(
            name: "FastCGI",
            dependencies: [
                "CFastCGI",
                "Flagon",
                "HostRegion",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The application: makeApp(config:), blueprints, models, storage, migrations.
        .target(
            name: "TasksAPI",
            dependencies: [
                "Flagon",
                "HostRegion",
                "CArgon2",
                "CLibPQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        .executableTarget(
            name: "tasks-api",
            dependencies: [
                "FastCGI",
                "HostRegion",
                "TasksAPI",
                "Flagon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "FlagonTests",
            dependencies: ["Flagon", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "TasksAPITests",
            dependencies: [
                "TasksAPI",
                "HostRegion",
                "Flagon",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(name: "HostRegionTests", dependencies: ["HostRegion", "CHostRegion"]),
        .testTarget(name: "FastCGITests", dependencies: ["FastCGI", "Flagon"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["tasks-api", "Flagon"]
        ),
    ]
)
