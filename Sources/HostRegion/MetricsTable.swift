// Request counters of the whole host in the host region: by route and status, with durations.

import CHostRegion

/// Counters every worker adds to with single atomic additions, so they are exact across the
/// pool and survive any worker's recycling or death (gunicorn's multi-process metrics
/// problem does not arise: there is one set, not one per process).
///
/// Rows are routes by position (the application writes their labels once per worker); the
/// last row counts requests that matched no route. Each row holds counts per status, a
/// duration histogram and the sum of durations. A few host-wide counters precede the rows.
public struct MetricsTable: @unchecked Sendable {
    /// Route rows, the last one for requests that matched no route.
    public static let rowCount = 64
    /// The row of requests that matched no route.
    public static let unmatchedRow = rowCount - 1
    /// Statuses counted on their own; any other counts under 0.
    public static let statuses: [Int] = [
        200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 405, 406, 409, 410, 412, 413, 415, 422, 429, 500, 502,
        503, 505,
    ]
    /// Upper bounds of the duration buckets in seconds; a last bucket takes the rest.
    public static let bucketBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    static let labelBytes = 64

    /// Host-wide counters.
    public enum Counter: Int, CaseIterable, Sendable {
        /// Workers started to replace one that ended (recycled, retired, died, killed).
        case restarts = 0
        /// Workers killed for a request over the timeout.
        case timeouts = 1
        /// Workers that died (killed or crashed) rather than exited.
        case workerDeaths = 2
        /// Requests logged as slow.
        case slowRequests = 3
    }

    static let counterWords = 16
    static let statusWords = 24
    static let bucketWords = 14
    /// Per row: statuses, buckets, the duration sum in microseconds.
    static let rowWords = statusWords + bucketWords + 1
    static let bytes = (counterWords + rowCount * rowWords) * 8 + rowCount * labelBytes

    let base: UnsafeMutablePointer<UInt64>
    let labels: UnsafeMutablePointer<UInt64>

    init(base: UnsafeMutableRawPointer, size: Int) throws(HostRegionError) {
        guard size >= Self.bytes else { throw HostRegionError("the host region's metrics are too small") }
        self.base = base.assumingMemoryBound(to: UInt64.self)
        labels = self.base + Self.counterWords + Self.rowCount * Self.rowWords
    }

    func row(_ index: Int) -> UnsafeMutablePointer<UInt64> {
        base + Self.counterWords + min(max(index, 0), Self.unmatchedRow) * Self.rowWords
    }

    /// The column of `status`: its position in ``statuses`` plus one, 0 for any other.
    static func statusColumn(_ status: Int) -> Int {
        switch status {
        case 200: 1
        case 201: 2
        case 204: 3
        default: (statuses.firstIndex(of: status) ?? -1) + 1
        }
    }

    static func bucket(nanoseconds: UInt64) -> Int {
        let seconds = Double(nanoseconds) / 1e9
        return bucketBounds.firstIndex { seconds <= $0 } ?? bucketBounds.count
    }

    /// Counts one request of route `row` (``unmatchedRow`` when none matched).
    public func record(row index: Int, status: Int, nanoseconds: UInt64) {
        let row = row(index)
        chr_add64(row + Self.statusColumn(status), 1)
        chr_add64(row + Self.statusWords + Self.bucket(nanoseconds: nanoseconds), 1)
        chr_add64(row + Self.statusWords + Self.bucketWords, nanoseconds / 1000)
    }

    public func add(_ counter: Counter, _ delta: UInt64 = 1) { chr_add64(base + counter.rawValue, delta) }

    public func value(_ counter: Counter) -> UInt64 { chr_load64(base + counter.rawValue) }

    /// Names route row `index` (`GET /api/tasks/{id}`); rows keep the label last written.
    public func setLabel(row index: Int, _ label: String) {
        guard index >= 0 && index < Self.unmatchedRow else { return }
        var label = label
        label.withUTF8 {
            _ = chr_store_text(
                labels + index * Self.labelBytes / 8, UInt64(Self.labelBytes), $0.baseAddress, UInt64($0.count))
        }
    }

    public func label(row index: Int) -> String {
        if index == Self.unmatchedRow { return "unmatched" }
        var bytes = [UInt8](repeating: 0, count: Self.labelBytes)
        bytes.withUnsafeMutableBytes {
            chr_load_text(labels + index * Self.labelBytes / 8, UInt64(Self.labelBytes), $0.baseAddress)
        }
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// A copy of one row's counters.
    public struct Row: Sendable, Equatable {
        public var index: Int
        public var label: String
        /// Requests per status (0: any status not in ``MetricsTable/statuses``).
        public var statuses: [Int: UInt64]
        /// Requests per duration bucket, not cumulative; the last one past every bound.
        public var buckets: [UInt64]
        public var durationMicroseconds: UInt64

        public var requests: UInt64 { statuses.values.reduce(0, +) }
    }

    /// The rows that counted at least one request.
    public func rows() -> [Row] {
        (0..<Self.rowCount).compactMap { index in
            let row = row(index)
            var statuses: [Int: UInt64] = [:]
            for column in 0..<Self.statusWords {
                let count = chr_load64(row + column)
                guard count > 0 else { continue }
                statuses[column == 0 ? 0 : Self.statuses[column - 1]] = count
            }
            guard !statuses.isEmpty else { return nil }
            let buckets = (0..<Self.bucketWords).map { chr_load64(row + Self.statusWords + $0) }
            return Row(
                index: index, label: label(row: index), statuses: statuses, buckets: buckets,
                durationMicroseconds: chr_load64(row + Self.statusWords + Self.bucketWords))
        }
    }
}
