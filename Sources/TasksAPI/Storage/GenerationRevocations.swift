// Revocation answers kept per worker until the revocation generation (host region or database row) changes.

import HostRegion
import Synchronization

/// An ``AccountStore`` that remembers what `isRevoked` answered until the host's revocation
/// generation changes, so an authenticated request reads the database only for a token this
/// worker has not checked since the last revocation.
///
/// `revoke` bumps the generation after its commit; the master bumps it when a worker exits
/// abnormally, in case that worker committed a revocation and died before its bump. The
/// generation is read before the database, so an answer read while a revocation commits is
/// remembered under the generation before the bump and never used after it.
///
/// With PostgreSQL the generation is a row of the database instead, bumped in the revoking
/// transaction itself: every host reads it (one small read per authenticated request), so a
/// token revoked on one host is refused by the others on their next request.
final class GenerationRevocations: AccountStore {
    /// Where the generation lives.
    enum Generation: Sendable {
        /// The host region's: revocations on this host only (SQLite is one host's).
        case host(HostRegion)
        /// The `revocation_generation` row, which the store's `revoke` bumps.
        case database(PostgresDatabase)
    }

    /// Answers kept at most; all are forgotten when it is reached.
    static let capacity = 10_000

    let base: any AccountStore
    let generation: Generation
    private let answers = Mutex<(generation: UInt64, revoked: [String: Bool])>((0, [:]))

    convenience init(_ base: any AccountStore, region: HostRegion) {
        self.init(base, generation: .host(region))
    }

    init(_ base: any AccountStore, generation: Generation) {
        self.base = base
        self.generation = generation
    }

    private func currentGeneration() throws -> UInt64 {
        switch generation {
        case .host(let region): return region.revocationGeneration
        case .database(let database): return try database.revocationGeneration()
        }
    }

    func isRevoked(jti: String) throws -> Bool {
        let generation = try currentGeneration()
        let known = answers.withLock { $0.generation == generation ? $0.revoked[jti] : nil }
        if let known { return known }
        let revoked = try base.isRevoked(jti: jti)
        answers.withLock { answers in
            if answers.generation != generation || answers.revoked.count >= Self.capacity {
                answers = (generation, [:])
            }
            answers.revoked[jti] = revoked
        }
        return revoked
    }

    func revoke(jti: String, expiresAt: Int64, now: Int64) throws {
        try base.revoke(jti: jti, expiresAt: expiresAt, now: now)
        if case .host(let region) = generation { region.bumpRevocationGeneration() }
    }

    func createUser(username: String, passwordHash: String, roles: [String]) throws -> User {
        try base.createUser(username: username, passwordHash: passwordHash, roles: roles)
    }

    func user(named username: String) throws -> User? { try base.user(named: username) }

    func user(id: Int64) throws -> User? { try base.user(id: id) }

    func users(offset: Int, limit: Int) throws -> (users: [User], total: Int) {
        try base.users(offset: offset, limit: limit)
    }

    func updatePasswordHash(userID: Int64, passwordHash: String) throws {
        try base.updatePasswordHash(userID: userID, passwordHash: passwordHash)
    }
}
