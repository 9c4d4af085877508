// A worker's executable code pages, dropped once it is ready, fault back in as it runs.

import Testing

@testable import FastCGI

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Start-up pages")
struct StartupPagesTests {
    /// Resident kB of this process's executable code mapping (/proc/self/smaps).
    static func residentCode() -> Int {
        let executable = Master.currentExecutable()
        guard let smaps = StartupPages.readProcFile("/proc/self/smaps") else { return -1 }
        var inCode = false
        var total = 0
        for line in smaps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if let first = fields.first, first.contains("-"), fields.count >= 5 {
                inCode = fields[1] == "r-xp" && fields.count == 6 && fields[5] == executable
            } else if inCode, fields.first == "Rss:", fields.count >= 2, let kB = Int(fields[1]) {
                total += kB
            }
        }
        return total
    }

    @Test("the executable's code mapping is found and its resident pages dropped; the code runs on")
    func dropsCode() {
        let before = Self.residentCode()
        #expect(before > 0, "no resident code mapping of \(Master.currentExecutable())")
        #expect(StartupPages.dropExecutableCode())
        // Only the pages run since the drop (this function and what it calls) are back.
        let after = Self.residentCode()
        #expect(after < before, "resident code: \(before) kB before, \(after) kB after")
        #expect(Self.residentCode() > 0)
    }
}
