// Reading a request's body or query string through a schema into a typed value.

extension Request {
    /// Validates the JSON body against `T.schema` and decodes it.
    ///
    /// An empty body validates as `{}` (as webargs does), so required fields report
    /// `Missing data for required field.`
    ///
    /// ```swift
    /// let input = try request.decode(TaskInput.self)
    /// ```
    /// - Throws: ``HTTPError`` `415` for a body that is not `application/json`, `400` for
    ///   one that is not valid JSON, `400` with every field error for one that fails validation.
    public func decode<T: SchemaDecodable>(_ type: T.Type) throws -> T {
        try T.decode(from: jsonBody() ?? .object(JSONObject()))
    }

    /// Validates the query parameters against `T.schema` and decodes them; parameters the
    /// schema does not name are ignored.
    ///
    /// ```swift
    /// let page = try request.query(PageQuery.self)
    /// ```
    /// - Throws: ``HTTPError`` `400` with every parameter's errors under its own name.
    public func query<T: SchemaDecodable>(_ type: T.Type) throws -> T {
        try T.decode(query: queryItems)
    }
}
