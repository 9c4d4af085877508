// swift-tools-version: 6.2
// JSON throughput of Flagon's parser and serialiser beside Foundation's; built and run by bench/run, never by the root package.
import PackageDescription

/// SwiftPM names a path dependency after its folder, which is whatever the clone is called.
let root = String(#filePath.split(separator: "/").dropLast(3).last ?? "tasks-api").lowercased()

let package = Package(
    name: "tasks-api-json-bench",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "json-bench",
            dependencies: [.product(name: "Flagon", package: root)],
            path: "Sources/json-bench"
        )
    ]
)
