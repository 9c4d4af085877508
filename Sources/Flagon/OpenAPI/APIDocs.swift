// Serves an application's OpenAPI document once it is published.

import Synchronization

/// The answer of `GET /openapi.json` for an application, as APIFlask serves it.
///
/// The route is registered with the application it documents, so the document only exists
/// once every blueprint is registered: the factory builds it then and hands it to
/// ``publish(_:)``. Until then the route answers `503`. The page that renders the document
/// (`/docs`) is the application's own template.
///
/// ```swift
/// let docs = APIDocs()
/// site.get("/openapi.json") { _ in try docs.documentResponse() }
/// ...
/// docs.publish(app.openAPIDocument(title: "tasks-api", version: "1.0.0"))
/// ```
public final class APIDocs: Sendable {
    /// The `Response` of `/openapi.json`, serialised once when published.
    private let published = Mutex<Response?>(nil)

    public init() {}

    /// Makes `document` the answer of ``documentResponse()``.
    public func publish(_ document: JSONValue) {
        let response = Response.json(document)
        published.withLock { $0 = response }
    }

    /// The published document as `application/json`, or `503` before it is published.
    public func documentResponse() throws -> Response {
        guard let response = published.withLock({ $0 }) else {
            throw HTTPError(.serviceUnavailable, message: "The API document is not ready yet.")
        }
        return response
    }
}
