// Account rules shared by the HTTP routes and the command line: registration and login.

import Flagon
import Logging

/// The body of `POST /api/auth/register` and the rules of a new account.
struct RegisterInput: SchemaDecodable {
    static let schema = ObjectSchema(
        .string("username", required: true, minLength: 3, maxLength: 32, characters: "A-Za-z0-9_.-"),
        .string("password", required: true, minLength: 8, maxLength: 128))
    var username: String
    var password: String
}

/// The body of `POST /api/auth/login`. Lengths are bounded so that a login never hashes
/// more than a password can be, but not checked further: a wrong guess is just a 401.
struct LoginInput: SchemaDecodable {
    static let schema = ObjectSchema(
        .string("username", required: true, maxLength: 32),
        .string("password", required: true, maxLength: 128))
    var username: String
    var password: String
}

/// Registration and credential checks over an ``AccountStore`` and a ``PasswordHasher``.
public struct Accounts: Sendable {
    public let store: any AccountStore
    public let hasher: PasswordHasher
    let logger: Logger?

    /// - Parameter logger: Told about stored hashes refused as too costly to verify.
    public init(store: any AccountStore, hasher: PasswordHasher, logger: Logger? = nil) {
        self.store = store
        self.hasher = hasher
        self.logger = logger
    }

    /// Creates an account after validating it as registration does.
    /// - Throws: ``HTTPError`` `400` with field errors, `409` when the username is taken.
    public func create(username: String, password: String, roles: [String] = []) throws -> User {
        let input = try RegisterInput.decode(
            from: ["username": .string(username), "password": .string(password)])
        return try create(input, roles: roles)
    }

    func create(_ input: RegisterInput, roles: [String] = []) throws -> User {
        let hash = try hasher.hash(input.password)
        do {
            return try store.createUser(username: input.username, passwordHash: hash, roles: roles)
        } catch AccountStoreError.usernameTaken {
            throw HTTPError(.conflict, message: "The username is already taken.")
        }
    }

    /// The user whose credentials these are. An unknown username costs the same Argon2id
    /// work as a wrong password, so timing does not reveal which names exist.
    /// - Throws: ``HTTPError`` `401` "Invalid credentials".
    func authenticate(_ input: LoginInput) throws -> User {
        guard let user = try store.user(named: input.username) else {
            hasher.verifyUnknownUser(input.password)
            throw Self.invalidCredentials
        }
        switch hasher.check(input.password, encoded: user.passwordHash) {
        case .match:
            break
        case .mismatch, .malformed:
            throw Self.invalidCredentials
        case .costTooHigh:
            // Said to the operator, not the client, and without the hash: the row needs a reset.
            // The dummy verification gives the answer an unknown user's timing.
            hasher.verifyUnknownUser(input.password)
            logger?.warning(
                "refused a stored password hash whose cost exceeds the configured maximum",
                metadata: [
                    "user_id": "\(user.id)", "max_memory_kib": "\(hasher.maximumStoredMemoryKiB)",
                    "max_iterations": "\(hasher.maximumStoredIterations)",
                ])
            throw Self.invalidCredentials
        }
        if hasher.needsRehash(user.passwordHash), let fresh = try? hasher.hash(input.password) {
            // Costs were raised since this hash was made: upgrade it while the password is at hand.
            try? store.updatePasswordHash(userID: user.id, passwordHash: fresh)
        }
        return user
    }

    /// The account behind a token's identity, read afresh.
    /// - Throws: ``HTTPError`` `401` when the account no longer exists.
    func currentUser(of identity: Identity?) throws -> User {
        guard let identity, identity.method == .jwt, let id = Int64(identity.id), let user = try store.user(id: id)
        else {
            throw HTTPError(
                .unauthorized, message: "The account no longer exists.",
                headers: ["WWW-Authenticate": "Bearer error=\"invalid_token\""])
        }
        return user
    }

    static let invalidCredentials = HTTPError(
        .unauthorized, message: "Invalid credentials", headers: ["WWW-Authenticate": "Bearer"])
}
