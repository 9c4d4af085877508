// Revocation answers kept per worker until the host region's revocation generation changes.

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
final class GenerationRevocations: AccountStore {
    /// Answers kept at most; all are forgotten when it is reached.
    static let capacity = 10_000

    let base: any AccountStore
    let region: HostRegion
    private let answers = Mutex<(generation: UInt64, revoked: [String: Bool])>((0, [:]))

    init(_ base: any AccountStore, region: HostRegion) {
        self.base = base
        self.region = region
    }

    func isRevoked(jti: String) throws -> Bool {
        let generation = region.revocationGeneration
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
        region.bumpRevocationGeneration()
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
