// Parse and serialise throughput (MB/s) of Flagon's JSON beside Foundation's JSONSerialization, on the service's bodies.

import Flagon
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One body the service reads or writes, as bytes on the wire.
struct Body {
    let name: String
    let bytes: [UInt8]
}

/// A task as `GET /api/tasks` renders it.
func task(_ id: Int) -> JSONValue {
    .object(
        JSONObject([
            ("id", .integer(Int64(id))),
            ("title", .string("Task \(id): review the quarterly report")),
            ("description", .string("Check the figures against last quarter's and send comments to finance.")),
            ("priority", .integer(Int64(id % 5 + 1))),
            ("completed", .bool(id % 3 == 0)),
            ("created_at", .string("2026-01-\(String(format: "%02d", id % 28 + 1))T09:30:00Z")),
            ("updated_at", .string("2026-02-\(String(format: "%02d", id % 28 + 1))T17:05:42Z")),
        ]))
}

/// One page of the list envelope with `count` tasks.
func page(_ count: Int, total: Int) -> JSONValue {
    .object(
        JSONObject([
            ("items", .array((1...count).map(task))),
            ("page", .integer(1)), ("per_page", .integer(Int64(count))),
            ("total", .integer(Int64(total))), ("pages", .integer(Int64((total + count - 1) / count))),
        ]))
}

/// Text in several scripts, with characters the serialiser must escape, `length` characters long.
func unicodeText(_ length: Int) -> String {
    let pieces = [
        "Café crème à emporter, ", "日本語のテキストです。", "Привет, мир! ", "😀🚀✨ ", "ελληνικά ",
        "עברית ", "“quoted” \"plain\" tab\tnew\nline ", "emoji 👩‍💻 ",
    ]
    var text = ""
    var index = 0
    while text.count < length {
        text += pieces[index % pieces.count]
        index += 1
    }
    return String(text.prefix(length))
}

let bodies: [Body] = {
    let create: JSONValue = [
        "title": "Write the quarterly report", "description": "Figures from finance, comments by Friday.",
        "priority": 2, "completed": false,
    ]
    var list: [JSONValue] = []
    var size = 0
    while size < 1 << 20 {
        let item = task(list.count + 1)
        size += item.serialized().count + 2
        list.append(item)
    }
    let unicode: JSONValue = .object(
        JSONObject([
            ("title", .string(unicodeText(200))), ("description", .string(unicodeText(60_000))),
            ("notes", .array((0..<8).map { _ in .string(unicodeText(2_000)) })),
        ]))
    return [
        Body(name: "task create body", bytes: create.serialized()),
        Body(name: "page of 100 tasks", bytes: page(100, total: 1_000).serialized()),
        Body(name: "1 MB task list", bytes: JSONValue.array(list).serialized()),
        Body(name: "long unicode strings", bytes: unicode.serialized()),
    ]
}()

/// Keeps a result alive so the optimiser cannot drop the work that made it.
@inline(never)
func consume<T>(_ value: T) {
    withUnsafePointer(to: value) { pointer in
        if UInt(bitPattern: pointer) == 1 { print(pointer) }
    }
}

func seconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// The median over `repeats` timed runs of MB/s, one run doing `work` on at least
/// `minimumBytes` (as many calls as that takes); `work` returns the bytes it handled.
func throughput(repeats: Int, minimumBytes: Int, _ work: () -> Int) -> Double {
    let once = max(work(), 1)  // also the warm-up
    let calls = max(1, minimumBytes / once)
    var rates: [Double] = []
    for _ in 0..<repeats {
        var handled = 0
        let start = seconds()
        for _ in 0..<calls { handled += work() }
        rates.append(Double(handled) / (seconds() - start) / 1e6)
    }
    rates.sort()
    return rates[rates.count / 2]
}

var repeats = 7
var minimumBytes = 4 << 20
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--repeats": repeats = arguments.next().flatMap(Int.init) ?? repeats
    case "--min-bytes": minimumBytes = arguments.next().flatMap(Int.init) ?? minimumBytes
    default:
        FileHandle.standardError.write(Data("usage: json-bench [--repeats N] [--min-bytes BYTES]\n".utf8))
        exit(2)
    }
}
repeats = max(1, repeats)

print(
    "| body | bytes | Flagon parse MB/s | Foundation parse MB/s | Flagon serialise MB/s | Foundation serialise MB/s |")
print("|---|---:|---:|---:|---:|---:|")
for body in bodies {
    // Both sides must read the body, and Flagon must read back what it writes.
    guard let value = try? JSONParser.parse(body.bytes), (try? JSONParser.parse(value.serialized())) == value else {
        fatalError("Flagon does not round-trip the \(body.name)")
    }
    let data = Data(body.bytes)
    guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
        fatalError("Foundation cannot parse the \(body.name)")
    }
    let flagonParse = throughput(repeats: repeats, minimumBytes: minimumBytes) {
        let parsed = try? JSONParser.parse(body.bytes)
        consume(parsed)
        return body.bytes.count
    }
    let foundationParse = throughput(repeats: repeats, minimumBytes: minimumBytes) {
        let parsed = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        consume(parsed)
        return data.count
    }
    let flagonSerialise = throughput(repeats: repeats, minimumBytes: minimumBytes) {
        value.serialized().count
    }
    let foundationSerialise = throughput(repeats: repeats, minimumBytes: minimumBytes) {
        (try? JSONSerialization.data(withJSONObject: object, options: [.fragmentsAllowed]))?.count ?? 0
    }
    let cells = [flagonParse, foundationParse, flagonSerialise, foundationSerialise].map { String(format: "%.1f", $0) }
    print("| \(body.name) | \(body.bytes.count) | " + cells.joined(separator: " | ") + " |")
}
print()
print("Median of \(repeats) runs of at least \(minimumBytes >> 20) MiB each; MB/s of the JSON text read or written.")
