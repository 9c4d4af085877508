// The middleware protocol and how a chain of middleware wraps a responder.

/// A stage around request handling, like a WSGI middleware or Flask's before/after hooks.
///
/// ```swift
/// struct Timing: Middleware {
///     func respond(to request: Request, next: Responder) async throws -> Response {
///         var response = try await next(request)
///         response.headers["X-Handled-By"] = "tasks-api"
///         return response
///     }
/// }
/// ```
public protocol Middleware: Sendable {
    func respond(to request: Request, next: Responder) async throws -> Response
}

/// Wraps `responder` so that `middleware[0]` runs first (outermost).
func chain(_ middleware: [any Middleware], around responder: @escaping Responder) -> Responder {
    // A loop, not `reduce`: a closure passed through a generic parameter is stored at the
    // generic abstraction, and every stage would then run through a pair of async
    // reabstraction thunks, each with its own frame, on every request.
    var next = responder
    for stage in middleware.reversed() {
        if let wrapping = stage as? any WrappingMiddleware {
            next = wrapping.responder(around: next)
        } else {
            let inner = next
            next = { request in try await stage.respond(to: request, next: inner) }
        }
    }
    return next
}

/// A stage that builds its own responder around the inner one when the chain is built.
///
/// A stage whose own work is synchronous runs it in that one closure: called per request
/// through ``Middleware/respond(to:next:)`` it would cost an async frame for the existential
/// call, one for `respond` and one for every async helper it calls.
protocol WrappingMiddleware: Middleware {
    /// The responder doing this stage's work around `next`; what ``Middleware/respond(to:next:)``
    /// would do.
    func responder(around next: @escaping Responder) -> Responder
}

/// The response of the stages inside, an ``HTTPResponseError`` thrown there included as its error
/// response: for stages that decorate every response, errors too (CORS, rate-limit headers).
/// Anything else thrown keeps propagating to ``ErrorMiddleware``.
func responseIncludingErrors(of next: Responder, for request: Request) async throws -> Response {
    do {
        return try await next(request)
    } catch let error as any HTTPResponseError {
        return error.response
    }
}
