// The products blueprint: the public catalogue and the admin's writes (API contract §9).

import Flagon

/// The body of `POST` and `PUT /api/products`: every field, with defaults for the optional ones.
struct ProductInput: SchemaDecodable {
    static let schema = ObjectSchema(
        .string("name", required: true, minLength: 1, maxLength: 200),
        .string("description", maxLength: 2000, default: ""),
        .integer("price_cents", required: true, minimum: 0),
        .string("currency", minLength: 3, maxLength: 3, characters: "A-Z", default: "USD"),
        .integer("stock", minimum: 0, default: 0))
    var name: String
    var description: String
    var priceCents: Int64
    var currency: String
    var stock: Int64

    enum CodingKeys: String, CodingKey {
        case name, description, currency, stock
        case priceCents = "price_cents"
    }

    var fields: ProductFields {
        ProductFields(name: name, description: description, priceCents: priceCents, currency: currency, stock: stock)
    }
}

/// The body of `PATCH /api/products/{id}`: the same fields, none required, no defaults.
struct ProductPatch: SchemaDecodable {
    static let schema = ProductInput.schema.partial
    var name: String?
    var description: String?
    var priceCents: Int64?
    var currency: String?
    var stock: Int64?

    enum CodingKeys: String, CodingKey {
        case name, description, currency, stock
        case priceCents = "price_cents"
    }

    var changes: ProductChanges {
        ProductChanges(
            name: name, description: description, priceCents: priceCents, currency: currency, stock: stock)
    }
}

/// The query of `GET /api/products`: a page, and `q`, a piece of the name to look for.
struct ProductListQuery: SchemaDecodable {
    static let schema = ObjectSchema(fields: PageQuery.fields + [.string("q")])
    var page: Int
    var perPage: Int
    var q: String?

    enum CodingKeys: String, CodingKey {
        case page, q
        case perPage = "per_page"
    }

    var pageQuery: PageQuery { PageQuery(page: page, perPage: perPage) }
}

extension Blueprints {
    /// `GET /api/products` and `GET /api/products/{id}` for everyone; `POST`, `PUT`,
    /// `PATCH` and `DELETE` for the role `admin`.
    static func products(store: any ProductStore) -> Blueprint {
        let products = Blueprint("products", prefix: "/api/products")
        let admin = AuthRequirement.accessToken(role: "admin")

        products.get(
            "", name: "list", summary: "The catalogue, a page at a time; `q` searches names",
            query: ProductListQuery.schema, response: .page("One page of products.", item: Schemas.product)
        ) { request in
            let query = try request.query(ProductListQuery.self)
            let page = query.pageQuery
            let (rows, total) = try store.products(matching: query.q, offset: page.offset, limit: page.perPage)
            return Pagination(page: page, total: total).response(items: rows.map(\.json), for: request)
        }

        products.get(
            "/{id:int}", name: "get", summary: "One product",
            response: .json("The product.", schema: Schemas.product)
        ) { request in
            guard let product = try store.product(id: try productID(request)) else { throw HTTPError.notFound }
            return .json(product.json)
        }

        products.post(
            "", name: "create", summary: "Add a product", auth: admin, body: ProductInput.schema,
            response: .created("The new product.", schema: Schemas.product)
        ) { request in
            let product = try store.createProduct(try request.decode(ProductInput.self).fields)
            return .json(product.json, status: .created, headers: ["Location": "/api/products/\(product.id)"])
        }

        products.put(
            "/{id:int}", name: "replace", summary: "Replace a product", auth: admin, body: ProductInput.schema,
            response: .json("The product.", schema: Schemas.product)
        ) { request in
            let fields = try request.decode(ProductInput.self).fields
            guard let product = try store.replaceProduct(id: try productID(request), with: fields) else {
                throw HTTPError.notFound
            }
            return .json(product.json)
        }

        products.patch(
            "/{id:int}", name: "update", summary: "Change some fields of a product", auth: admin,
            body: ProductPatch.schema, response: .json("The product.", schema: Schemas.product)
        ) { request in
            let changes = try request.decode(ProductPatch.self).changes
            guard let product = try store.updateProduct(id: try productID(request), with: changes) else {
                throw HTTPError.notFound
            }
            return .json(product.json)
        }

        products.delete(
            "/{id:int}", name: "delete", summary: "Remove a product", auth: admin,
            response: .noContent("The product is gone.")
        ) { request in
            guard try store.deleteProduct(id: try productID(request)) else { throw HTTPError.notFound }
            return .empty()
        }
        return products
    }

    /// The `{id:int}` of the matched route; the router only matches positive integers.
    private static func productID(_ request: Request) throws -> Int64 {
        guard let id = request.parameters.int("id") else { throw HTTPError.notFound }
        return id
    }
}
