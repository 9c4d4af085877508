// How the master reads a worker's resident set for the RSS limit: /proc/PID/statm, in bytes.

import Testing

@testable import FastCGI

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Master memory check")
struct MasterMemoryTests {
    @Test("the resident set grows by the pages a process writes, in bytes")
    func residentBytesFollowsWrittenPages() throws {
        let before = try #require(Master.residentBytes(of: getpid()))
        let size = 64 << 20
        let block = try #require(malloc(size))
        defer { free(block) }
        memset(block, 1, size)
        let after = try #require(Master.residentBytes(of: getpid()))
        // Other threads of the test runner may allocate or free meanwhile: a generous bound.
        #expect(after >= before + UInt64(size) / 2, "before \(before), after \(after)")
    }

    @Test("a process that does not exist has no resident set")
    func missingProcess() {
        // Above the kernel's largest pid_max (2^22).
        #expect(Master.residentBytes(of: pid_t(Int32.max)) == nil)
    }
}
