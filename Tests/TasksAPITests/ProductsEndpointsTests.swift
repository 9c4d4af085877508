// The products routes through the in-memory test client, on SQLite and on PostgreSQL (API contract §9 and §12).

import Flagon
import Foundation
import TasksAPI
import Testing

@Suite("Products endpoints")
struct ProductsEndpointsTests {
    /// An admin's access token: the account is made as `create-user --admin` makes it.
    private func adminToken(_ fixture: AccountsFixture) async throws -> String {
        _ = try fixture.application.accounts.create(username: "root", password: "root password", roles: ["admin"])
        let login = await fixture.login("root", "root password")
        return try #require(login["access_token"]?.stringValue)
    }

    private func send(
        _ fixture: AccountsFixture, _ method: HTTPMethod, _ target: String, json: JSONValue, token: String?
    ) async -> TestResponse {
        let headers: HTTPHeaders = token.map { ["Authorization": "Bearer \($0)"] } ?? [:]
        return await fixture.client.send(method, target, json: json, headers: headers)
    }

    /// Creates a product as the admin and returns its id.
    private func createProduct(_ fixture: AccountsFixture, _ json: JSONValue, token: String) async throws -> Int64 {
        let response = await send(fixture, .post, "/api/products", json: json, token: token)
        try #require(response.status == 201, "\(response.text)")
        guard case .integer(let id) = try #require(response["id"]) else {
            Issue.record("id is not an integer: \(response.text)")
            return 0
        }
        return id
    }

    /// The names of a list response's items, in order.
    private func names(_ response: TestResponse) -> [String] {
        guard case .array(let items) = response["items"] else { return [] }
        return items.compactMap { $0.objectValue?["name"]?.stringValue }
    }

    /// Moves every product's timestamps into the past, straight in the database, so a write
    /// within the same second still shows whether it moved `updated_at`.
    private func backdate(_ fixture: AccountsFixture) throws {
        try executeDirectly(
            fixture.application.database, "UPDATE products SET created_at = ?, updated_at = ?",
            ["2001-02-03T04:05:06Z", "2001-02-03T04:05:06Z"])
    }

    private func isTimestamp(_ value: JSONValue?) -> Bool {
        guard let text = value?.stringValue else { return false }
        return text.wholeMatch(of: #/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/#) != nil
    }

    @Test(
        "POST answers 201 with Location and the product, defaults filled in; GET reads it back without a token",
        arguments: Backend.allCases)
    func create(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let admin = try await adminToken(fixture)
            let created = await send(
                fixture, .post, "/api/products", json: ["name": "Widget", "price_cents": 1999], token: admin)
            #expect(created.status == 201)
            #expect(created.headers["Location"] == "/api/products/1")
            let body = try #require(created.json?.objectValue)
            #expect(
                body.keys == [
                    "id", "name", "description", "price_cents", "currency", "stock", "created_at", "updated_at",
                ])
            #expect(body["id"] == 1)
            #expect(body["name"] == "Widget")
            #expect(body["description"] == "")
            #expect(body["price_cents"] == 1999)
            #expect(body["currency"] == "USD")
            #expect(body["stock"] == 0)
            #expect(isTimestamp(body["created_at"]))
            #expect(body["updated_at"] == body["created_at"])

            let read = await fixture.client.get("/api/products/1")
            #expect(read.status == 200)
            #expect(read.text == created.text)
            #expect(await fixture.client.head("/api/products/1").status == 200)

            let full = await send(
                fixture, .post, "/api/products",
                json: ["name": "Gadget", "description": "Shiny", "price_cents": 0, "currency": "EUR", "stock": 7],
                token: admin)
            #expect(full.status == 201)
            #expect(full.headers["Location"] == "/api/products/2")
            #expect(full["description"] == "Shiny")
            #expect(full["price_cents"] == 0)
            #expect(full["currency"] == "EUR")
            #expect(full["stock"] == 7)
        }
    }

    @Test("POST validates every field at once with the schema's messages", arguments: Backend.allCases)
    func createValidation(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let admin = try await adminToken(fixture)
            let invalid = await send(
                fixture, .post, "/api/products",
                json: ["name": "", "price_cents": -1, "currency": "usd", "stock": -3, "colour": "red"], token: admin)
            #expect(invalid.status == 400)
            #expect(invalid["message"] == "Validation failed.")
            let errors = try #require(invalid["errors"]?.objectValue)
            #expect(errors.keys == ["colour", "currency", "name", "price_cents", "stock"])
            #expect(errors["name"] == ["Length must be between 1 and 200."])
            #expect(errors["price_cents"] == ["Must be greater than or equal to 0."])
            #expect(errors["currency"] == ["String does not match expected pattern."])
            #expect(errors["stock"] == ["Must be greater than or equal to 0."])
            #expect(errors["colour"] == ["Unknown field."])

            let lengths = await send(
                fixture, .post, "/api/products",
                json: [
                    "name": .string(String(repeating: "n", count: 201)),
                    "description": .string(String(repeating: "d", count: 2001)), "price_cents": 1,
                    "currency": "USDX",
                ],
                token: admin)
            let lengthErrors = try #require(lengths["errors"]?.objectValue)
            #expect(lengthErrors["name"] == ["Length must be between 1 and 200."])
            #expect(lengthErrors["description"] == ["Longer than maximum length 2000."])
            #expect(lengthErrors["currency"] == ["Length must be 3."])
            let short = await send(
                fixture, .post, "/api/products", json: ["name": "x", "price_cents": 1, "currency": "US"], token: admin)
            #expect(short["errors"]?.objectValue?["currency"] == ["Length must be 3."])

            let missing = await send(fixture, .post, "/api/products", json: [:], token: admin)
            #expect(missing["errors"]?.objectValue?["name"] == ["Missing data for required field."])
            #expect(missing["errors"]?.objectValue?["price_cents"] == ["Missing data for required field."])

            let types = await send(
                fixture, .post, "/api/products",
                json: ["name": nil, "price_cents": "100", "stock": 1.5, "currency": 840], token: admin)
            let typeErrors = try #require(types["errors"]?.objectValue)
            #expect(typeErrors["name"] == ["Field may not be null."])
            #expect(typeErrors["price_cents"] == ["Not a valid integer."])
            #expect(typeErrors["stock"] == ["Not a valid integer."])
            #expect(typeErrors["currency"] == ["Not a valid string."])

            let notObject = await send(fixture, .post, "/api/products", json: ["Widget"], token: admin)
            #expect(notObject["errors"]?.objectValue?["_schema"] == ["Invalid input type."])

            // Nothing was stored by any of them.
            #expect(await fixture.client.get("/api/products")["total"] == 0)
        }
    }

    @Test(
        "reads are public; a missing product, or an id that is not a positive integer, is 404",
        arguments: Backend.allCases)
    func publicReads(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let empty = await fixture.client.get("/api/products")
            #expect(empty.status == 200)
            #expect(empty.text == #"{"items": [], "page": 1, "per_page": 20, "total": 0, "pages": 0}"#)
            #expect(empty.headers["Link"] == nil)

            let admin = try await adminToken(fixture)
            _ = try await createProduct(fixture, ["name": "Widget", "price_cents": 5], token: admin)
            let list = await fixture.client.get("/api/products")
            #expect(list.status == 200)
            #expect(names(list) == ["Widget"])
            #expect(await fixture.client.get("/api/products/1").status == 200)

            for target in ["/api/products/2", "/api/products/0", "/api/products/-1", "/api/products/abc"] {
                let missing = await fixture.client.get(target)
                #expect(missing.status == 404, "\(target)")
                #expect(missing["message"] == "The requested URL was not found on the server.")
            }
        }
    }

    @Test(
        "writes need an access token (401) of an admin (403), and change nothing otherwise", arguments: Backend.allCases
    )
    func writesNeedAdmin(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let admin = try await adminToken(fixture)
            let id = try await createProduct(fixture, ["name": "Widget", "price_cents": 5], token: admin)
            let user = try await fixture.tokens(for: "alice")
            let body: JSONValue = ["name": "Stolen", "price_cents": 0]
            let writes: [(HTTPMethod, String)] = [
                (.post, "/api/products"), (.put, "/api/products/\(id)"), (.patch, "/api/products/\(id)"),
                (.delete, "/api/products/\(id)"),
            ]
            for (method, target) in writes {
                let anonymous = await send(fixture, method, target, json: body, token: nil)
                #expect(anonymous.status == 401, "\(method) \(target)")
                #expect(anonymous.headers["WWW-Authenticate"] == "Bearer")
                let forbidden = await send(fixture, method, target, json: body, token: user.access)
                #expect(forbidden.status == 403, "\(method) \(target)")
                #expect(forbidden["error"] == "Forbidden")
                let refresh = await send(fixture, method, target, json: body, token: user.refresh)
                #expect(refresh.status == 401, "\(method) \(target)")
            }
            let list = await fixture.client.get("/api/products")
            #expect(list["total"] == 1)
            #expect(names(list) == ["Widget"])
        }
    }

    @Test("q: a case-insensitive substring of the name, where % and _ are literal", arguments: Backend.allCases)
    func search(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let admin = try await adminToken(fixture)
            for name in ["100% cotton", "a_b", "ab", "Widget", "Blue WIDGET", "Gadget"] {
                _ = try await createProduct(fixture, ["name": .string(name), "price_cents": 1], token: admin)
            }
            func search(_ encoded: String) async -> [String] {
                let response = await fixture.client.get("/api/products?q=\(encoded)")
                #expect(response.status == 200, "q=\(encoded)")
                return names(response)
            }
            #expect(await search("wid") == ["Widget", "Blue WIDGET"])
            #expect(await search("WiDgEt") == ["Widget", "Blue WIDGET"])
            #expect(await search("%25") == ["100% cotton"])
            #expect(await search("0%25") == ["100% cotton"])
            #expect(await search("_") == ["a_b"])
            #expect(await search("a_") == ["a_b"])
            // As LIKE patterns these would match "100% cotton" and "ab".
            #expect(await search("1%25n") == [])
            #expect(await search("a%25") == [])
            #expect(await search("%5C") == [])
            #expect(await search("nothing") == [])
            #expect(await search("") == ["100% cotton", "a_b", "ab", "Widget", "Blue WIDGET", "Gadget"])
            #expect(await fixture.client.get("/api/products?q=wid")["total"] == 2)

            // Only ASCII letters fold, as SQLite's lower() folds them: a non-ASCII letter matches in its own case.
            _ = try await createProduct(fixture, ["name": "CAFÉ crème", "price_cents": 1], token: admin)
            #expect(await search("caf") == ["CAFÉ crème"])
            #expect(await search("%C3%A8") == ["CAFÉ crème"])
            #expect(await search("%C3%A9") == [])
        }
    }

    @Test(
        "pagination by id with q kept in Link; a page past the last is empty; page= is invalid",
        arguments: Backend.allCases)
    func pagination(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let admin = try await adminToken(fixture)
            for number in 1...5 {
                _ = try await createProduct(
                    fixture, ["name": .string("Widget \(number)"), "price_cents": 1], token: admin)
                _ = try await createProduct(
                    fixture, ["name": .string("Gadget \(number)"), "price_cents": 1], token: admin)
            }
            let first = await fixture.client.get("/api/products?q=widget&per_page=2&colour=red")
            #expect(first.status == 200)
            #expect(names(first) == ["Widget 1", "Widget 2"])
            #expect(first["page"] == 1)
            #expect(first["per_page"] == 2)
            #expect(first["total"] == 5)
            #expect(first["pages"] == 3)
            #expect(first.headers["Link"] == "</api/products?q=widget&per_page=2&colour=red&page=2>; rel=\"next\"")

            let middle = await fixture.client.get("/api/products?q=widget&page=2&per_page=2")
            #expect(names(middle) == ["Widget 3", "Widget 4"])
            #expect(
                middle.headers["Link"]
                    == "</api/products?q=widget&page=3&per_page=2>; rel=\"next\", "
                    + "</api/products?q=widget&page=1&per_page=2>; rel=\"prev\"")

            let past = await fixture.client.get("/api/products?q=widget&page=9&per_page=2")
            #expect(past.status == 200)
            #expect(past["items"] == [])
            #expect(past["total"] == 5)
            #expect(past.headers["Link"] == "</api/products?q=widget&page=3&per_page=2>; rel=\"prev\"")

            let far = await fixture.client.get("/api/products?page=9223372036854775807")
            #expect(far.status == 200)
            #expect(far["items"] == [])

            let all = await fixture.client.get("/api/products?page=2&per_page=4")
            #expect(names(all) == ["Widget 3", "Gadget 3", "Widget 4", "Gadget 4"])
            #expect(all["total"] == 10)

            let invalid = await fixture.client.get("/api/products?page=&per_page=101")
            #expect(invalid.status == 400)
            #expect(invalid["errors"]?.objectValue?["page"] == ["Not a valid integer."])
            #expect(
                invalid["errors"]?.objectValue?["per_page"]
                    == ["Must be greater than or equal to 1 and less than or equal to 100."])
        }
    }

    @Test("PUT replaces every field with POST's rules and defaults; 200 with the product", arguments: Backend.allCases)
    func replace(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let admin = try await adminToken(fixture)
            let id = try await createProduct(
                fixture,
                ["name": "Widget", "description": "Blue", "price_cents": 5, "currency": "EUR", "stock": 9],
                token: admin)
            try backdate(fixture)
            let replaced = await send(
                fixture, .put, "/api/products/\(id)", json: ["name": "Widget II", "price_cents": 7], token: admin)
            #expect(replaced.status == 200)
            #expect(replaced.headers["Location"] == nil)
            #expect(replaced["id"] == .integer(id))
            #expect(replaced["name"] == "Widget II")
            #expect(replaced["description"] == "")
            #expect(replaced["price_cents"] == 7)
            #expect(replaced["currency"] == "USD")
            #expect(replaced["stock"] == 0)
            #expect(replaced["created_at"] == "2001-02-03T04:05:06Z")
            #expect(replaced["updated_at"] != "2001-02-03T04:05:06Z")
            #expect(isTimestamp(replaced["updated_at"]))
            #expect(await fixture.client.get("/api/products/\(id)").text == replaced.text)

            let invalid = await send(
                fixture, .put, "/api/products/\(id)", json: ["description": "only this"], token: admin)
            #expect(invalid.status == 400)
            #expect(invalid["errors"]?.objectValue?["name"] == ["Missing data for required field."])
            #expect(invalid["errors"]?.objectValue?["price_cents"] == ["Missing data for required field."])
            #expect(await fixture.client.get("/api/products/\(id)")["description"] == "")

            let missing = await send(
                fixture, .put, "/api/products/99", json: ["name": "Ghost", "price_cents": 1], token: admin)
            #expect(missing.status == 404)
            #expect(await fixture.client.get("/api/products")["total"] == 1)
        }
    }

    @Test("PATCH changes only the fields sent, each validated, and moves updated_at", arguments: Backend.allCases)
    func update(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let admin = try await adminToken(fixture)
            let id = try await createProduct(
                fixture,
                ["name": "Widget", "description": "Blue", "price_cents": 5, "currency": "EUR", "stock": 9],
                token: admin)
            try backdate(fixture)

            let unchanged = await send(fixture, .patch, "/api/products/\(id)", json: [:], token: admin)
            #expect(unchanged.status == 200)
            #expect(unchanged["updated_at"] == "2001-02-03T04:05:06Z")
            let same = await send(fixture, .patch, "/api/products/\(id)", json: ["stock": 9], token: admin)
            #expect(same["updated_at"] == "2001-02-03T04:05:06Z")

            let patched = await send(
                fixture, .patch, "/api/products/\(id)", json: ["stock": 3, "currency": "GBP"], token: admin)
            #expect(patched.status == 200)
            #expect(patched["name"] == "Widget")
            #expect(patched["description"] == "Blue")
            #expect(patched["price_cents"] == 5)
            #expect(patched["currency"] == "GBP")
            #expect(patched["stock"] == 3)
            #expect(patched["created_at"] == "2001-02-03T04:05:06Z")
            #expect(patched["updated_at"] != "2001-02-03T04:05:06Z")
            #expect(isTimestamp(patched["updated_at"]))
            #expect(await fixture.client.get("/api/products/\(id)").text == patched.text)

            let invalid = await send(
                fixture, .patch, "/api/products/\(id)",
                json: ["name": nil, "currency": "usd", "price_cents": -1, "sku": "X1"], token: admin)
            #expect(invalid.status == 400)
            let errors = try #require(invalid["errors"]?.objectValue)
            #expect(errors["name"] == ["Field may not be null."])
            #expect(errors["currency"] == ["String does not match expected pattern."])
            #expect(errors["price_cents"] == ["Must be greater than or equal to 0."])
            #expect(errors["sku"] == ["Unknown field."])
            #expect(errors["description"] == nil)
            #expect(await fixture.client.get("/api/products/\(id)").text == patched.text)

            let missing = await send(fixture, .patch, "/api/products/99", json: ["stock": 1], token: admin)
            #expect(missing.status == 404)
        }
    }

    @Test(
        "DELETE answers 204; the product is gone, and its id is not given to the next one", arguments: Backend.allCases)
    func delete(backend: Backend) async throws {
        try await AccountsFixture.with(on: backend) { fixture in
            let admin = try await adminToken(fixture)
            _ = try await createProduct(fixture, ["name": "Widget", "price_cents": 5], token: admin)
            let id = try await createProduct(fixture, ["name": "Gadget", "price_cents": 5], token: admin)
            let headers: HTTPHeaders = ["Authorization": "Bearer \(admin)"]
            let deleted = await fixture.client.delete("/api/products/\(id)", headers: headers)
            #expect(deleted.status == 204)
            #expect(deleted.text.isEmpty)
            #expect(await fixture.client.get("/api/products/\(id)").status == 404)
            #expect(await fixture.client.delete("/api/products/\(id)", headers: headers).status == 404)
            let remaining = await fixture.client.get("/api/products")
            #expect(names(remaining) == ["Widget"])
            #expect(try await createProduct(fixture, ["name": "Gizmo", "price_cents": 5], token: admin) == id + 1)
        }
    }
}
