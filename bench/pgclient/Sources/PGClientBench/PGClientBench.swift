// What both clients share: options, the two statements, per-operation timing, and the report from /proc/self.

#if canImport(Glibc)
    import Glibc
#endif

/// The server and the amount of work, from the command line.
public struct Options: Sendable {
    /// The folder holding the server's unix socket (`.s.PGSQL.<port>`).
    public var socketFolder = ""
    public var port = 5432
    public var user = "tasks"
    public var database = "postgres"
    /// Timed iterations; each runs one SELECT and one INSERT.
    public var iterations = 2000
    /// Untimed iterations first, so that both clients are measured warm.
    public var warmup = 200
    /// Rows of `bench_tasks` the SELECT picks from, by id `1...rows`.
    public var rows = 1000
    /// A mode of the client (postgres-nio: `future` or `async`).
    public var mode = ""

    /// Reads `--socket-folder`, `--port`, `--user`, `--database`, `--iterations`, `--warmup`,
    /// `--rows`, `--mode`; exits with a usage line on anything else.
    public static func parse(_ arguments: [String] = CommandLine.arguments) -> Options {
        var options = Options()
        var rest = arguments.dropFirst().makeIterator()
        func number(_ text: String) -> Int {
            guard let number = Int(text) else { usage(arguments[0]) }
            return number
        }
        while let name = rest.next() {
            guard let value = rest.next() else { usage(arguments[0]) }
            switch name {
            case "--socket-folder": options.socketFolder = value
            case "--port": options.port = number(value)
            case "--user": options.user = value
            case "--database": options.database = value
            case "--iterations": options.iterations = number(value)
            case "--warmup": options.warmup = number(value)
            case "--rows": options.rows = number(value)
            case "--mode": options.mode = value
            default: usage(arguments[0])
            }
        }
        if options.socketFolder.isEmpty || options.iterations < 1 || options.rows < 1 { usage(arguments[0]) }
        return options
    }

    private static func usage(_ program: String) -> Never {
        print(
            "usage: \(program) --socket-folder DIR [--port N] [--user U] [--database D] [--iterations N]"
                + " [--warmup N] [--rows N] [--mode M]")
        exit(2)
    }
}

/// The two statements, identical for both clients. The row is shaped like the service's
/// `tasks` row; the table is made by bench/pgclient/run.
public enum Statements {
    public static let select = "SELECT * FROM bench_tasks WHERE id = $1"
    public static let insert = """
        INSERT INTO bench_tasks (owner_id, title, description, priority, completed, created_at, updated_at, version)
        VALUES ($1, $2, $3, $4, $5, $6, $7, 1) RETURNING *
        """
}

/// A `bench_tasks` row as both clients hand it to the caller: every column decoded.
public struct TaskRow: Sendable {
    public var id: Int64
    public var ownerID: Int64
    public var title: String
    public var description: String
    public var priority: Int32
    public var completed: Bool
    public var createdAt: String
    public var updatedAt: String
    public var version: Int64

    public init(
        id: Int64, ownerID: Int64, title: String, description: String, priority: Int32, completed: Bool,
        createdAt: String, updatedAt: String, version: Int64
    ) {
        self.id = id
        self.ownerID = ownerID
        self.title = title
        self.description = description
        self.priority = priority
        self.completed = completed
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.version = version
    }
}

/// The values iteration `index` inserts: a task-sized title and description.
public struct NewTask: Sendable {
    public var ownerID: Int64
    public var title: String
    public var description: String
    public var priority: Int32
    public var completed: Bool
    public var timestamp: String

    public init(_ index: Int) {
        ownerID = Int64(index % 50 + 1)
        title = "Write the quarterly report, part \(index)"
        description = "Collect the figures from every team and summarise them in two pages; item \(index)."
        priority = Int32(index % 5 + 1)
        completed = index % 3 == 0
        timestamp = "2026-11-30T08:00:00Z"
    }
}

/// Monotonic nanoseconds.
public func now() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// Runs the warm-up, then the timed iterations: the SELECT of a seeded row by id, then the
/// INSERT of a new one. Each check throws if the row read back is not the expected one, so a
/// client that returned nothing is never timed as fast.
/// - Returns: the SELECT and INSERT latencies in nanoseconds.
public func measure(
    _ options: Options, select: (Int64) throws -> TaskRow, insert: (NewTask) throws -> TaskRow
) throws -> (select: [UInt64], insert: [UInt64]) {
    var selects: [UInt64] = []
    var inserts: [UInt64] = []
    selects.reserveCapacity(options.iterations)
    inserts.reserveCapacity(options.iterations)
    for index in 0..<(options.warmup + options.iterations) {
        let id = Int64(index % options.rows + 1)
        let start = now()
        let read = try select(id)
        let selected = now()
        let new = NewTask(index)
        let written = try insert(new)
        let inserted = now()
        guard read.id == id, written.title == new.title, written.ownerID == new.ownerID, written.version == 1
        else { throw BenchError.wrongRow }
        if index >= options.warmup {
            selects.append(selected - start)
            inserts.append(inserted - selected)
        }
    }
    return (selects, inserts)
}

public enum BenchError: Error {
    case wrongRow
    case noRow
}

/// Prints one `key=value` line: p50 and p99 per operation in microseconds, then the
/// process's resident and proportional set sizes (KiB) and thread count after the run.
public func report(client: String, select: [UInt64], insert: [UInt64]) {
    let fields: [(String, String)] = [
        ("client", client),
        ("select_p50_us", microseconds(percentile(select, 50))),
        ("select_p99_us", microseconds(percentile(select, 99))),
        ("insert_p50_us", microseconds(percentile(insert, 50))),
        ("insert_p99_us", microseconds(percentile(insert, 99))),
        ("rss_kib", statusField("/proc/self/status", "VmRSS:")),
        ("pss_kib", statusField("/proc/self/smaps_rollup", "Pss:")),
        ("threads", statusField("/proc/self/status", "Threads:")),
    ]
    print(fields.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
}

/// The nearest-rank percentile.
func percentile(_ values: [UInt64], _ percent: Int) -> UInt64 {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    let rank = (sorted.count * percent + 99) / 100
    return sorted[max(rank, 1) - 1]
}

func microseconds(_ nanoseconds: UInt64) -> String {
    let tenths = (nanoseconds + 50) / 100
    return "\(tenths / 10).\(tenths % 10)"
}

/// The first number after `key` in a /proc file of `key value` lines, or `?`.
func statusField(_ path: String, _ key: String) -> String {
    guard let file = fopen(path, "r") else { return "?" }
    defer { fclose(file) }
    var line: UnsafeMutablePointer<CChar>?
    var capacity = 0
    defer { free(line) }
    while getline(&line, &capacity, file) > 0 {
        guard let line else { continue }
        let text = String(cString: line)
        guard text.hasPrefix(key) else { continue }
        // Values follow their key after tabs or spaces: `VmRSS:\t   5432 kB`.
        return text.dropFirst(key.count).split(whereSeparator: \.isWhitespace).first.map(String.init) ?? "?"
    }
    return "?"
}
