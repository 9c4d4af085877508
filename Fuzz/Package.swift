// swift-tools-version: 6.2
// libFuzzer targets for the parsers of tasks-api; built and run by scripts/fuzz, never by the root package.
import PackageDescription

/// SwiftPM names a path dependency after its folder, which is whatever the clone is called.
let root = String(#filePath.split(separator: "/").dropLast(2).last ?? "tasks-api").lowercased()

/// One executable per fuzz target: a single file defining `LLVMFuzzerTestOneInput`, linked
/// with libFuzzer's own `main` by `--sanitize=fuzzer`.
func fuzzTarget(_ name: String, _ products: [String]) -> Target {
    .executableTarget(
        name: "fuzz-\(name)",
        dependencies: products.map { .product(name: $0, package: root) },
        path: "Sources/\(name)"
    )
}

let package = Package(
    name: "tasks-api-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        fuzzTarget("json", ["Flagon"]),
        fuzzTarget("schema", ["Flagon", "TasksAPI"]),
        fuzzTarget("cgi-params", ["Flagon", "FastCGI"]),
        fuzzTarget("query-string", ["Flagon"]),
        fuzzTarget("etag", ["Flagon"]),
        fuzzTarget("jwt", ["Flagon"]),
        fuzzTarget("rate-limit", ["Flagon"]),
        fuzzTarget("phc", ["TasksAPI"]),
    ]
)
