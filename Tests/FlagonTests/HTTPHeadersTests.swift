// The rate limiter's fields held as numbers read and change exactly as text fields would.

import Testing

@testable import Flagon

@Suite("HTTP headers: rate-limit fields held as numbers")
struct HTTPHeadersRateLimitTests {
    /// What ``HTTPHeaders/setRateLimit(limit:remaining:reset:)`` stands for, done with text.
    private func setAsText(_ headers: inout HTTPHeaders, limit: Int64, remaining: Int64, reset: Int64) {
        for name in ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"] { headers.remove(name: name) }
        headers.add(name: "X-RateLimit-Limit", value: String(limit))
        headers.add(name: "X-RateLimit-Remaining", value: String(remaining))
        headers.add(name: "X-RateLimit-Reset", value: String(reset))
    }

    private func lines(_ headers: HTTPHeaders) -> [String] { headers.map { "\($0.name): \($0.value)" } }

    /// Runs `change` on headers holding the numbers and on headers holding the same as text,
    /// and expects every way of reading them to agree.
    private func expectSame(
        limit: Int64 = 100, remaining: Int64 = 99, reset: Int64 = 1_800_000_000,
        before: (inout HTTPHeaders) -> Void = { _ in }, after change: (inout HTTPHeaders) -> Void = { _ in },
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var numeric = HTTPHeaders()
        var text = HTTPHeaders()
        before(&numeric)
        before(&text)
        numeric.setRateLimit(limit: limit, remaining: remaining, reset: reset)
        setAsText(&text, limit: limit, remaining: remaining, reset: reset)
        change(&numeric)
        change(&text)
        #expect(lines(numeric) == lines(text), sourceLocation: sourceLocation)
        #expect(numeric.count == text.count, sourceLocation: sourceLocation)
        for name in [
            "X-RateLimit-Limit", "x-ratelimit-remaining", "X-RATELIMIT-RESET", "Content-Type", "X-Request-Id",
            "X-RateLimit-Other", "Vary",
        ] {
            #expect(numeric[name] == text[name], "\(name)", sourceLocation: sourceLocation)
            #expect(numeric.values(for: name) == text.values(for: name), "\(name)", sourceLocation: sourceLocation)
            #expect(numeric.contains(name) == text.contains(name), "\(name)", sourceLocation: sourceLocation)
        }
    }

    @Test("read at their place, after the fields present when they were set")
    func readLikeText() {
        expectSame()
        expectSame(before: { $0.add(name: "Content-Type", value: "application/json") })
        expectSame(
            before: { $0.add(name: "Content-Type", value: "application/json") },
            after: {
                $0.replaceOrAdd(name: "X-Request-Id", value: "abc")
                $0.add(name: "Vary", value: "Origin")
            })
        for value: Int64 in [0, 9, 10, 99, 100, 1_700_000_100, -60, .max, .min] {
            expectSame(limit: value, remaining: value, reset: value)
        }
    }

    @Test("replacing or removing one of the three names turns the three into text at their place")
    func changedAsText() {
        let contentType: (inout HTTPHeaders) -> Void = { $0.add(name: "Content-Type", value: "application/json") }
        expectSame(before: contentType, after: { $0.replaceOrAdd(name: "x-ratelimit-remaining", value: "5") })
        expectSame(before: contentType, after: { $0.remove(name: "X-RateLimit-Reset") })
        expectSame(before: contentType, after: { $0["X-RateLimit-Limit"] = nil })
        expectSame(before: contentType, after: { $0["X-RateLimit-Limit"] = "7" })
        // A plain add keeps the numbers and adds a text field after them.
        expectSame(before: contentType, after: { $0.add(name: "X-RateLimit-Limit", value: "second") })
    }

    @Test("removing other fields keeps the three at their place")
    func removingOthers() {
        expectSame(
            before: {
                $0.add(name: "X-Request-Id", value: "inner")
                $0.add(name: "Content-Type", value: "application/json")
                $0.add(name: "X-Request-Id", value: "inner too")
            },
            after: {
                $0.replaceOrAdd(name: "X-Request-Id", value: "outer")
                $0.remove(name: "Content-Type")
                $0.add(name: "X-Content-Type-Options", value: "nosniff")
            })
    }

    @Test("setting them replaces text fields of those names and earlier numbers")
    func replacesEarlier() {
        expectSame(before: {
            $0.add(name: "x-ratelimit-limit", value: "1")
            $0.add(name: "Content-Type", value: "application/json")
            $0.add(name: "X-RateLimit-Reset", value: "2")
        })
        var twice = HTTPHeaders()
        twice.setRateLimit(limit: 1, remaining: 1, reset: 1)
        twice.add(name: "Content-Type", value: "text/plain")
        twice.setRateLimit(limit: 5, remaining: 4, reset: 60)
        #expect(
            lines(twice) == [
                "Content-Type: text/plain", "X-RateLimit-Limit: 5", "X-RateLimit-Remaining: 4", "X-RateLimit-Reset: 60",
            ])
        #expect(twice.storedFields.count == 1 && twice.rateLimit?.position == 1)
    }
}

@Suite("Decimal text")
struct DecimalTextTests {
    @Test(
        "the digits of any Int64",
        arguments: [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65_535, 100_000_000, 1_700_000_100, -1, -60, -100]
            + [Int64.max, Int64.min, Int64.max - 1, Int64.min + 1, 999_999_999_999_999_999, 1_000_000_000_000_000_000]
    )
    func digits(value: Int64) {
        var buffer = [UInt8](repeating: 0, count: DecimalText.maxCount)
        let count = buffer.withUnsafeMutableBufferPointer { DecimalText.write(value, to: $0.baseAddress!) }
        #expect(String(decoding: buffer[..<count], as: UTF8.self) == String(value))
    }

    @Test("every power of ten and its neighbours")
    func powers() {
        var power: Int64 = 1
        for _ in 0...18 {
            for value in [power - 1, power, power + 1, -power] {
                var buffer = [UInt8](repeating: 0, count: DecimalText.maxCount)
                let count = buffer.withUnsafeMutableBufferPointer { DecimalText.write(value, to: $0.baseAddress!) }
                #expect(String(decoding: buffer[..<count], as: UTF8.self) == String(value))
            }
            if power <= Int64.max / 10 { power *= 10 }
        }
    }
}
