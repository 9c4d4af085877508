// The products blueprint: the public catalogue and the admin's writes (API contract §9).

import Flagon

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
        // Its writes are short, and its store joins the worker's round of writes (README, Durability).
        products.writesJoinRounds = true
        let admin = AuthRequirement.accessToken(role: "admin")

        products.get(
            "", name: "list", operationId: "listProducts",
            summary: "The catalogue, a page at a time; `q` searches names", query: ProductListQuery.schema,
            response: .page("One page of products.", item: Product.resource.schema)
        ) { request in
            let query = try request.query(ProductListQuery.self)
            let page = query.pageQuery
            let (rows, total) = try store.products(matching: query.q, offset: page.offset, limit: page.perPage)
            return Pagination(page: page, total: total).response(items: rows.map(\.json), for: request)
        }

        products.get(
            "/{id:int}", name: "get", operationId: "getProduct", summary: "One product",
            response: .json("The product.", schema: Product.resource.schema)
        ) { request in
            guard let product = try store.product(id: try productID(request)) else { throw ProductError.notFound }
            return .json(product.json)
        }

        products.post(
            "", name: "create", operationId: "createProduct", summary: "Add a product", auth: admin,
            body: Product.resource.inputSchema, response: .created("The new product.", schema: Product.resource.schema)
        ) { request in
            let product = try store.createProduct(try request.input(Product.resource))
            return .json(product.json, status: .created, headers: ["Location": "/api/products/\(product.id)"])
        }

        products.put(
            "/{id:int}", name: "replace", operationId: "replaceProduct", summary: "Replace a product", auth: admin,
            body: Product.resource.inputSchema, response: .json("The product.", schema: Product.resource.schema)
        ) { request in
            let input = try request.input(Product.resource)
            return .json(try store.replaceProduct(id: try productID(request), with: input).json)
        }

        products.patch(
            "/{id:int}", name: "update", operationId: "updateProduct", summary: "Change some fields of a product",
            auth: admin, body: Product.resource.patchSchema,
            response: .json("The product.", schema: Product.resource.schema)
        ) { request in
            let patch = try request.patch(Product.resource)
            return .json(try store.updateProduct(id: try productID(request), with: patch).json)
        }

        products.delete(
            "/{id:int}", name: "delete", operationId: "deleteProduct", summary: "Remove a product", auth: admin,
            response: .noContent("The product is gone.")
        ) { request in
            try store.deleteProduct(id: try productID(request))
            return .empty()
        }
        return products
    }

    /// The `{id:int}` of the matched route; the router only matches positive integers.
    private static func productID(_ request: Request) throws -> Int64 {
        guard let id = request.parameters.int("id") else { throw ProductError.notFound }
        return id
    }
}
