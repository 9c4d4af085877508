// The paginated envelope described as JSON Schema, for the OpenAPI document.

extension Pagination {
    /// The envelope `{"items", "page", "per_page", "total", "pages"}` around items of `item`.
    public static func jsonSchema(item: JSONValue) -> JSONValue {
        JSONSchema.object([
            ("items", JSONSchema.array(of: item)),
            ("page", ["type": "integer", "minimum": 1]),
            ("per_page", ["type": "integer", "minimum": 1, "maximum": 100]),
            ("total", ["type": "integer", "minimum": 0]),
            ("pages", ["type": "integer", "minimum": 0]),
        ])
    }
}
