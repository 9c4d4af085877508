// Each worker's request limit: --max-requests plus a random jitter, drawn from an injected generator.

import Testing

@testable import FastCGI

@Suite("Request limit jitter")
struct RequestJitterTests {
    /// SplitMix64: a fixed seed gives the same draws on every run.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test("limits lie in max...max+jitter and spread over the range")
    func spread() {
        var generator = SeededGenerator(state: 42)
        let limits = (0..<1000).map { _ in Worker.requestLimit(maxRequests: 1000, jitter: 50, using: &generator) }
        #expect(limits.allSatisfy { (1000...1050).contains($0) })
        // 1000 draws over 51 values: every value is all but certain to come up; a
        // generator that ignored the jitter would give one.
        #expect(Set(limits).count > 40)
        #expect(limits.contains(1000) && limits.contains(1050))
    }

    @Test("workers started together get different limits")
    func differentWorkers() {
        var generator = SeededGenerator(state: 7)
        let four = (0..<4).map { _ in Worker.requestLimit(maxRequests: 5, jitter: 50, using: &generator) }
        #expect(Set(four).count >= 2, "\(four)")
    }

    @Test("no jitter, or no limit at all, draws nothing")
    func noJitter() {
        var generator = SeededGenerator(state: 1)
        let before = generator.state
        #expect(Worker.requestLimit(maxRequests: 500, jitter: 0, using: &generator) == 500)
        // --max-requests 0 never recycles, whatever the jitter (as gunicorn).
        #expect(Worker.requestLimit(maxRequests: 0, jitter: 50, using: &generator) == 0)
        #expect(generator.state == before)
    }

    @Test("a jitter is valid from 0 up to what the limit can add without overflow")
    func validity() {
        #expect(Worker.isValidRequestJitter(0, maxRequests: 0))
        #expect(Worker.isValidRequestJitter(50, maxRequests: 1000))
        #expect(!Worker.isValidRequestJitter(-1, maxRequests: 1000))
        #expect(Worker.isValidRequestJitter(Int.max - 10, maxRequests: 10))
        #expect(!Worker.isValidRequestJitter(Int.max - 9, maxRequests: 10))
    }
}
