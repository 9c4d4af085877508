// Where products live: the storage interface the product routes are written against.

/// The catalogue's storage. The SQLite implementation is the default; a PostgreSQL one can
/// fill the same interface without touching the handlers.
///
/// Writes that find no product return nil (or false) rather than throwing, so the routes
/// decide the `404`. A write that changes no stored value leaves `updated_at` as it was.
public protocol ProductStore: Sendable {
    /// Stores a new product; `created_at` and `updated_at` are now.
    func createProduct(_ fields: ProductFields) throws -> Product
    func product(id: Int64) throws -> Product?
    /// One page of products by id, and how many there are in all. With `query`, only the
    /// products whose name contains it, ignoring case; `%` and `_` in it are literal.
    func products(matching query: String?, offset: Int, limit: Int) throws -> (products: [Product], total: Int)
    /// Replaces every written field (`PUT`); nil when there is no such product.
    func replaceProduct(id: Int64, with fields: ProductFields) throws -> Product?
    /// Changes the fields `changes` carries and no other (`PATCH`); nil when there is no such product.
    func updateProduct(id: Int64, with changes: ProductChanges) throws -> Product?
    /// Whether there was such a product to delete.
    func deleteProduct(id: Int64) throws -> Bool
}
