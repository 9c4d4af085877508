// `tasks-api create-user NAME [--admin]`: create an account, the password read from stdin.

import ArgumentParser
import FastCGI
import Flagon
import Foundation
import TasksAPI

struct CreateUser: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-user",
        abstract: "Create a user; the password is the first line of standard input.",
        discussion: """
            printf '%s\\n' "$PASSWORD" | tasks-api create-user alice --admin
            The password is never taken from the command line, where other users could read it.
            """
    )

    @Argument(help: "The username (3 to 32 of A-Z a-z 0-9 _ . -).")
    var name: String

    @Flag(help: "Give the user the admin role.")
    var admin = false

    func run() throws {
        Signals.unblockControlSignals()
        let logger = Startup.logger("tasks-api.create-user")
        guard let line = readLine(strippingNewline: true) else {
            Startup.fail(logger, ValidationError("no password on standard input"))
        }
        let application: Application
        do {
            application = try Startup.application(logger)
        } catch {
            Startup.fail(logger, error)
        }
        do {
            let user = try application.accounts.create(
                username: name, password: line, roles: admin ? ["admin"] : [])
            print("created user \(user.username) (id \(user.id), roles: \(user.roles.joined(separator: ",")))")
        } catch let error as HTTPError {
            let details = error.fieldErrors.map { errors in
                errors.keys.sorted().map { "\($0): \(errors[$0]!.joined(separator: " "))" }.joined(separator: "; ")
            }
            Startup.fail(logger, ValidationError(details ?? error.message))
        } catch {
            Startup.fail(logger, error)
        }
    }
}
