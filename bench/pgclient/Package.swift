// swift-tools-version: 6.2
// The same PostgreSQL work through libpq and through postgres-nio, as a prefork worker does it; built and run by bench/pgclient/run, never by the root package.
import PackageDescription

let package = Package(
    name: "tasks-api-pgclient-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // libpq from Debian's libpq-dev, as the service's own CLibPQ target reaches it.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // Options, timing, percentiles and the /proc readings both clients report with.
        .target(name: "PGClientBench", path: "Sources/PGClientBench"),
        .executableTarget(
            name: "pgclient-libpq",
            dependencies: ["CLibPQ", "PGClientBench"],
            path: "Sources/pgclient-libpq"
        ),
        .executableTarget(
            name: "pgclient-nio",
            dependencies: [
                "PGClientBench",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/pgclient-nio"
        ),
    ]
)
