// The OpenAPI document of an application's routes.

extension App {
    /// The OpenAPI 3.1 document of every registered route.
    ///
    /// `429` is documented on the routes the application's ``RateLimitMiddleware`` limits, when
    /// it has an enabled one; call it after registering every blueprint and middleware.
    ///
    /// ```swift
    /// let document = app.openAPIDocument(title: "tasks-api", version: "1.0.0")
    /// ```
    public func openAPIDocument(title: String, version: String) -> JSONValue {
        let limiter = rateLimiter.flatMap { $0.isEnabled ? $0 : nil }
        return OpenAPI(title: title, version: version, rateLimitExemptPaths: limiter?.exemptPaths)
            .document(for: router.routes)
    }
}
