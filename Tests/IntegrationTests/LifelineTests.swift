// The servers a test starts never outlive the test runner.

import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Test servers end with the runner")
struct LifelineTests {
    @Test("once the runner's end of the lifeline closes, as when it is killed, pool, nginx and folder are gone")
    func abandonedService() throws {
        let service = try LiveService.start(.master(workers: 2, arguments: []))
        defer { service.stop() }
        let master = try #require(service.master?.processIdentifier)
        let workers = service.workerPIDs()
        let nginx = try #require(service.nginxPID)
        let nginxWorkers = Processes.children(of: nginx)
        #expect(workers.count == 2)
        #expect(!nginxWorkers.isEmpty)

        // The kernel closes every descriptor of a killed runner: this is the same event.
        service.abandonLifeline()
        let everything = [master, nginx] + workers + nginxWorkers
        let ended = Processes.waitUntil(seconds: 10) { everything.allSatisfy { Processes.isDead($0) } }
        #expect(ended, "still running: \(everything.filter { !Processes.isDead($0) })")
        let removed = Processes.waitUntil(seconds: 10) {
            !FileManager.default.fileExists(atPath: service.directory.path)
        }
        #expect(removed)
    }
}
