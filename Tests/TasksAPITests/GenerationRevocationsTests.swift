// Revocation answers kept until the host region's generation changes: fewer reads, no stale answer.

import Foundation
import HostRegion
import Synchronization
import Testing

@testable import TasksAPI

/// An account store that answers `isRevoked` from a set and counts how often it was asked.
final class CountingRevocations: AccountStore {
    let revoked = Mutex<Set<String>>([])
    let checks = Atomic<Int>(0)

    func isRevoked(jti: String) throws -> Bool {
        checks.add(1, ordering: .relaxed)
        return revoked.withLock { $0.contains(jti) }
    }

    func revoke(jti: String, expiresAt: Int64, now: Int64) throws { _ = revoked.withLock { $0.insert(jti) } }
    func createUser(username: String, passwordHash: String, roles: [String]) throws -> User {
        throw AccountStoreError.usernameTaken
    }
    func user(named username: String) throws -> User? { nil }
    func user(id: Int64) throws -> User? { nil }
    func users(offset: Int, limit: Int) throws -> (users: [User], total: Int) { ([], 0) }
    func updatePasswordHash(userID: Int64, passwordHash: String) throws {}
}

@Suite("Revocation generation")
struct GenerationRevocationsTests {
    @Test("a worker reads the database once per token and generation; a revocation elsewhere is seen next request")
    func readsOnlyWhenTheGenerationChanged() async throws {
        try await withTemporaryDirectory { folder in
            let region = try HostRegion.openFile(folder + "/region", rateLimitSlots: 16)
            let database = CountingRevocations()
            // Two workers of one host: each its own answers, one region.
            let first = GenerationRevocations(database, region: region)
            let second = GenerationRevocations(database, region: try HostRegion.openFile(folder + "/region"))
            for _ in 0..<5 { #expect(try first.isRevoked(jti: "a") == false) }
            #expect(try second.isRevoked(jti: "a") == false)
            #expect(database.checks.load(ordering: .relaxed) == 2)

            // Logout through the second worker: the first refuses the token on its next check.
            try second.revoke(jti: "a", expiresAt: 2_000_000_000, now: 1_000)
            #expect(region.revocationGeneration == 1)
            #expect(try first.isRevoked(jti: "a") == true)
            #expect(try first.isRevoked(jti: "a") == true)
            #expect(database.checks.load(ordering: .relaxed) == 3)

            // A revocation committed by a worker that died before its bump: the master's bump
            // (on the abnormal exit) makes every worker read again.
            _ = try first.isRevoked(jti: "c")
            database.revoked.withLock { _ = $0.insert("c") }
            #expect(try first.isRevoked(jti: "c") == false)
            region.bumpRevocationGeneration()
            #expect(try first.isRevoked(jti: "c") == true)
        }
    }
}
