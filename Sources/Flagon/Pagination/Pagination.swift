// Paginated collections (API contract §7): page/per_page parameters, the envelope, Link headers.

/// The `page` and `per_page` query parameters of a list endpoint.
///
/// ```swift
/// let page = try request.query(PageQuery.self)
/// let (rows, total) = try store.list(offset: page.offset, limit: page.perPage)
/// return Pagination(page: page, total: total).response(items: rows.map(\.json), for: request)
/// ```
public struct PageQuery: SchemaDecodable, Sendable {
    /// The two fields, for list endpoints whose own query schema adds filters to them.
    public static let fields: [Field] = [
        .integer("page", minimum: 1, default: 1),
        .integer("per_page", minimum: 1, maximum: 100, default: 20),
    ]
    public static let schema = ObjectSchema(fields: fields)

    public var page: Int
    public var perPage: Int

    enum CodingKeys: String, CodingKey {
        case page
        case perPage = "per_page"
    }

    public init(page: Int, perPage: Int) {
        self.page = page
        self.perPage = perPage
    }

    /// The number of items before this page.
    public var offset: Int {
        let (product, overflow) = (page - 1).multipliedReportingOverflow(by: perPage)
        return overflow ? Int.max : product
    }
}

/// One page of a collection: the envelope `{"items", "page", "per_page", "total", "pages"}`
/// and the `Link` header with `rel="next"` and `rel="prev"` where they exist.
public struct Pagination: Sendable {
    public let page: Int
    public let perPage: Int
    public let total: Int

    public init(page: PageQuery, total: Int) {
        self.page = page.page
        self.perPage = page.perPage
        self.total = total
    }

    /// Pages in all; 0 when the collection is empty.
    public var pages: Int { total == 0 ? 0 : (total + perPage - 1) / perPage }

    /// The next page, if there is one after this.
    public var next: Int? { page < pages ? page + 1 : nil }

    /// The previous page: the one before, or the last page when this one is past the end.
    public var previous: Int? { page > 1 && pages > 0 ? min(page - 1, pages) : nil }

    /// The JSON envelope around `items`.
    public func body(items: [JSONValue]) -> JSONValue {
        [
            "items": .array(items), "page": .integer(Int64(page)), "per_page": .integer(Int64(perPage)),
            "total": .integer(Int64(total)), "pages": .integer(Int64(pages)),
        ]
    }

    /// The `Link` header value for `request`, keeping its other query parameters; nil
    /// when there is neither a next nor a previous page.
    public func linkHeader(for request: Request) -> String? {
        var links: [String] = []
        if let next { links.append("<\(target(request, page: next))>; rel=\"next\"") }
        if let previous { links.append("<\(target(request, page: previous))>; rel=\"prev\"") }
        return links.isEmpty ? nil : links.joined(separator: ", ")
    }

    /// The `200` response: the envelope and the `Link` header.
    public func response(items: [JSONValue], for request: Request) -> Response {
        var response = Response.json(body(items: items))
        if let link = linkHeader(for: request) { response.headers.add(name: "Link", value: link) }
        return response
    }

    /// The request's path with `page` set and every other parameter kept, in order.
    func target(_ request: Request, page: Int) -> String {
        var pairs: [String] = []
        var replaced = false
        for item in request.queryItems {
            if item.name == "page" {
                guard !replaced else { continue }
                replaced = true
                pairs.append("page=\(page)")
            } else {
                pairs.append("\(QueryString.encode(item.name))=\(QueryString.encode(item.value))")
            }
        }
        if !replaced { pairs.append("page=\(page)") }
        return request.path + "?" + pairs.joined(separator: "&")
    }
}
