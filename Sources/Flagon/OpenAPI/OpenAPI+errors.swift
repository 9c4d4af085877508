// The error responses a route can answer, derived from what it declares.

extension OpenAPI {
    /// The error statuses documented for a route, in ascending order:
    ///
    /// | status | when |
    /// |---|---|
    /// | `304` | a `GET` with an `ETag` (not an error, but not the success either) |
    /// | `400` | a body or a query schema |
    /// | `401` | a token is required |
    /// | `403` | a role is required |
    /// | `404` | path parameters |
    /// | `412` | a write with an `ETag` (`If-Match`) |
    /// | `413`, `415` | a body |
    /// | `429` | rate limited |
    ///
    /// plus the route's own ``RouteMetadata/errors`` (`409`, `503`, ...).
    public func errorStatuses(of route: Route) -> [HTTPStatus] {
        let metadata = route.metadata
        var statuses = Set(metadata.errors)
        if metadata.etag { statuses.insert(route.method == .get ? .notModified : .preconditionFailed) }
        if metadata.body != nil || metadata.query != nil { statuses.insert(.badRequest) }
        if metadata.auth.requiresToken { statuses.insert(.unauthorized) }
        if metadata.auth.role != nil { statuses.insert(.forbidden) }
        if route.pattern.segments.contains(where: { if case .parameter = $0 { true } else { false } }) {
            statuses.insert(.notFound)
        }
        if metadata.body != nil { statuses.formUnion([.contentTooLarge, .unsupportedMediaType]) }
        if isRateLimited(route) { statuses.insert(.tooManyRequests) }
        return statuses.sorted { $0.code < $1.code }
    }

    /// The error response of a route: a reference to a shared response for the statuses
    /// every route answers alike (`400`, `401`, `404`, `412`, `429`), inline for the others.
    func errorResponse(_ status: HTTPStatus, for route: Route, components: inout Components) -> JSONValue {
        guard let name = Self.sharedResponseNames[status.code] else { return errorResponse(status, for: route) }
        return components.response(name, errorResponse(status, for: route))
    }

    /// The names of the shared responses under `components/responses`.
    static let sharedResponseNames = [
        400: "ValidationError", 401: "Unauthorized", 404: "NotFound", 412: "PreconditionFailed",
        429: "TooManyRequests",
    ]

    func errorResponse(_ status: HTTPStatus, for route: Route) -> JSONValue {
        if status == .notModified {
            return [
                "description": "The resource still has the ETag sent in `If-None-Match`.",
                "headers": [
                    "ETag": ["description": "The strong entity tag of the resource.", "schema": JSONSchema.string]
                ],
            ]
        }
        var response = JSONObject([("description", .string(Self.explanation(of: status, for: route)))])
        if status == .unauthorized {
            response["headers"] = [
                "WWW-Authenticate": [
                    "description": #"`Bearer`, with `error="invalid_token"` when a token was sent."#,
                    "schema": JSONSchema.string,
                ]
            ]
        }
        if status == .tooManyRequests {
            response["headers"] = .object(JSONObject((Self.rateLimitHeaders + [Self.retryAfter]).map(Self.reference)))
        }
        response["content"] = ["application/json": ["schema": ["$ref": "#/components/schemas/ErrorResponse"]]]
        return .object(response)
    }

    static func explanation(of status: HTTPStatus, for route: Route) -> String {
        switch status.code {
        case 400:
            return "Validation failed (`errors` names the fields or query parameters), or the body is not valid JSON."
        case 401: return "A valid token is missing, or it is invalid, expired or revoked."
        case 403: return "The caller lacks the role `\(route.metadata.auth.role ?? "")`."
        case 404: return "No such resource, or it is not the caller's."
        case 409: return "The resource conflicts with an existing one."
        case 412: return "The resource no longer has the ETag sent in `If-Match` (or has one sent in `If-None-Match`)."
        case 413: return "The body is larger than `MAX_CONTENT_LENGTH`."
        case 415: return "The body is not `application/json`."
        case 429: return "Rate limit exceeded; `message` names the limit."
        case 503: return "A dependency, such as the database, is unavailable."
        default: return status.reasonPhrase + "."
        }
    }
}
