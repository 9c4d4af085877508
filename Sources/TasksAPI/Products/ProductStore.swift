// Where products live: the storage interface the product routes are written against, and its error.

import Flagon

/// Why a product could not be read or changed: there is no such product, `404`.
public enum ProductError: HTTPResponseError, Equatable {
    case notFound

    public var status: HTTPStatus { .notFound }
    public var headers: HTTPHeaders { [:] }
    public var body: JSONValue { HTTPError(status).body }
}

/// The catalogue's storage. The SQLite implementation is the default; a PostgreSQL one can
/// fill the same interface without touching the handlers.
///
/// A write that finds no product throws ``ProductError/notFound``. A write that changes no
/// stored value leaves `updated_at` as it was.
public protocol ProductStore: Sendable {
    /// Stores a new product; `created_at` and `updated_at` are now.
    func createProduct(_ fields: Input<Product>) throws -> Product
    func product(id: Int64) throws -> Product?
    /// One page of products by id, and how many there are in all. With `query`, only the
    /// products whose name contains it, ignoring case; `%` and `_` in it are literal.
    func products(matching query: String?, offset: Int, limit: Int) throws -> (products: [Product], total: Int)
    /// Replaces every written field (`PUT`).
    func replaceProduct(id: Int64, with fields: Input<Product>) throws -> Product
    /// Changes the fields `changes` carries and no other (`PATCH`).
    func updateProduct(id: Int64, with changes: Patch<Product>) throws -> Product
    func deleteProduct(id: Int64) throws
}
