// Routes that exist only with TESTING=true: they let integration tests hold a worker busy.

import Flagon
import Logging

#if canImport(Glibc)
    import Glibc
#endif

extension Blueprints {
    /// `GET /_testing/headers` echoes the request's header fields.
    /// `GET /_testing/sleep?seconds=S` answers after S seconds (0 < S <= 30), the way a
    /// slow request would: the graceful stop and reload tests keep it in flight.
    /// `POST /_testing/unsynced-write` answers 201 after leaving a sync that fails: the
    /// worker must answer it 500 (the held-answer path of ``WriteSync``).
    /// `POST /_testing/failed-round` (SQLite) answers 201 after joining the worker's round of
    /// writes and then rolling that round's transaction back, as SQLITE_FULL would: the worker
    /// must answer it 500.
    /// `POST /_testing/allocate?mib=N` grows the worker by N MiB (1...256) that it never gives
    /// back, as a leak would: the RSS-limit recycling test pushes a worker over its limit.
    static func testing(database: Database) -> Blueprint {
        let testing = Blueprint("testing", prefix: "/_testing")
        // For /failed-round; /sleep, a GET, still commits an open round before it.
        testing.writesJoinRounds = true
        // The bootstrapped handler: the line goes to the worker's stderr, the pool's log.
        let logger = Logger(label: "tasks-api.testing")
        testing.get(
            "/sleep", name: "sleep", operationId: "testingSleep", summary: "Answer after a delay (TESTING only)",
            response: .json("Slept.", schema: JSONSchema.object([("slept", JSONSchema.number)])),
            errors: [.badRequest]
        ) { request in
            guard let text = request.queryValue("seconds"), let seconds = Double(text), seconds > 0, seconds <= 30
            else {
                throw HTTPError.validation(["seconds": ["Must be greater than 0 and at most 30."]])
            }
            // Tests wait for this line (its request id, its worker's pid) to know the request is
            // in a worker before they signal or kill it, instead of guessing with a sleep.
            logger.notice(
                "sleep started", metadata: ["request_id": "\(request.id)", "seconds": "\(seconds)"])
            // A blocking sleep on purpose: it occupies the worker exactly as slow work would.
            usleep(UInt32(seconds * 1_000_000))
            return .json(["slept": .number(seconds)])
        }
        testing.post(
            "/allocate", name: "allocate", operationId: "testingAllocate",
            summary: "Hold N MiB until the worker exits (TESTING only)",
            response: .json("Allocated.", schema: JSONSchema.object([("allocated_mib", JSONSchema.integer)])),
            errors: [.badRequest]
        ) { request in
            guard let text = request.queryValue("mib"), let mib = Int(text), (1...256).contains(mib) else {
                throw HTTPError.validation(["mib": ["Must be an integer from 1 to 256."]])
            }
            // Written, not just reserved, so every page is resident; never freed on purpose.
            guard let block = malloc(mib << 20) else { throw HTTPError(.internalServerError) }
            memset(block, 1, mib << 20)
            return .json(["allocated_mib": .integer(Int64(mib))])
        }
        // A write whose sync fails: the worker holds its answer for the turn's sync, which
        // throws, so it must answer 500 instead of this 201.
        testing.post(
            "/unsynced-write", name: "unsyncedWrite", operationId: "testingUnsyncedWrite",
            summary: "Answer 201 for a write whose sync then fails (TESTING only)",
            response: .created("Never sent: the failed sync turns it into a 500.", schema: JSONSchema.object([]))
        ) { _ in
            struct SyncFailed: Error, CustomStringConvertible {
                var description: String { "the test's sync failure" }
            }
            guard let batch = WriteSync.batch else { throw HTTPError(.internalServerError) }
            batch.keep { throw SyncFailed() }
            return .json([:], status: .created)
        }
        // A write whose round's transaction is rolled back under it: the worker holds its
        // answer for the round's commit, which never comes, so it must answer 500.
        testing.post(
            "/failed-round", name: "failedRound", operationId: "testingFailedRound",
            summary: "Answer 201 for a write whose round then rolls back (TESTING only)",
            response: .created("Never sent: the failed round turns it into a 500.", schema: JSONSchema.object([]))
        ) { _ in
            struct RolledBack: Error, CustomStringConvertible {
                var description: String { "the test's rolled-back round" }
            }
            guard database.postgres == nil, WriteSync.batch != nil else { throw HTTPError(.notFound) }
            try database.write(joiningRound: true) { db in try db.execute(sql: "SELECT 1") }
            do {
                try database.write(joiningRound: true) { db in
                    try db.execute(sql: "ROLLBACK")
                    throw RolledBack()
                }
            } catch is RolledBack {}
            return .json([:], status: .created)
        }
        // What the worker received, so tests can show what nginx strips before it.
        testing.get(
            "/headers", name: "headers", operationId: "testingHeaders",
            summary: "Echo the request headers (TESTING only)",
            response: .json(
                "The header fields received.",
                schema: JSONSchema.object([
                    ("headers", ["type": "object", "additionalProperties": JSONSchema.string])
                ]))
        ) { request in
            var headers = JSONObject()
            for field in request.headers { headers[field.name] = .string(field.value) }
            return .json(["headers": .object(headers)])
        }
        return testing
    }
}
