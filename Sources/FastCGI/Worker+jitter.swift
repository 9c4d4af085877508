// A worker's own request limit: `--max-requests` plus a random jitter, so that workers do not recycle together.

extension Worker {
    /// The number of requests after which one worker leaves: `maxRequests` plus a random
    /// 0...`jitter`, as gunicorn's `--max-requests-jitter` does. Workers started together
    /// (at start-up, or on a reload) would otherwise all recycle at the same moment and leave
    /// the pool short while their replacements boot.
    /// - Parameters:
    ///   - maxRequests: the configured limit; 0 means never, whatever the jitter.
    ///   - jitter: the most requests added, 0 or more.
    ///   - generator: the source of randomness; tests pass a seeded one.
    public static func requestLimit<Generator: RandomNumberGenerator>(
        maxRequests: Int, jitter: Int, using generator: inout Generator
    ) -> Int {
        guard maxRequests > 0, jitter > 0 else { return maxRequests }
        return maxRequests + Int.random(in: 0...jitter, using: &generator)
    }

    /// Whether a jitter can be added to `maxRequests` without overflow.
    public static func isValidRequestJitter(_ jitter: Int, maxRequests: Int) -> Bool {
        jitter >= 0 && jitter <= Int.max - max(maxRequests, 0)
    }
}
