// Serves an application's OpenAPI document and a page that renders it.

import Synchronization

/// `GET /openapi.json` and `GET /docs` for an application, as APIFlask serves them.
///
/// The routes are registered with the application they document, so the document only
/// exists once every blueprint is registered: the factory builds it then and hands it to
/// ``publish(_:)``. Until then the routes answer `503`.
///
/// ```swift
/// let docs = APIDocs(title: "tasks-api")
/// site.get("/openapi.json") { _ in docs.documentResponse() }
/// site.get("/docs") { _ in docs.page }
/// ...
/// docs.publish(app.openAPIDocument(title: "tasks-api", version: "1.0.0"))
/// ```
public final class APIDocs: Sendable {
    /// The `Response` of `/openapi.json`, serialised once when published.
    private let published = Mutex<Response?>(nil)
    /// The HTML page: Redoc, loaded by the browser from its public CDN, rendering `/openapi.json`.
    public let page: Response

    /// - Parameters:
    ///   - title: The page title.
    ///   - documentPath: Where the page finds the document.
    public init(title: String, documentPath: String = "/openapi.json") {
        page = .html(
            """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title): API documentation</title></head>
            <body>
            <redoc spec-url="\(documentPath)"></redoc>
            <noscript>The documentation needs JavaScript; the document itself is at
            <a href="\(documentPath)">\(documentPath)</a>.</noscript>
            <script src="https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"></script>
            </body></html>
            """)
    }

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
