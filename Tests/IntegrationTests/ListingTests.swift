// Lists through real nginx on SQLite and on PostgreSQL: search with literal % and _, sort orders, pages.

import Foundation
import Testing

@Suite("Lists through nginx", .serialized)
struct ListingTests {
    @Test(
        "q finds % _ and \\ literally, sorts break ties by id, and pages neither overlap nor skip",
        arguments: Backend.allCases)
    func searchOrderAndPages(backend: Backend) throws {
        let service = try LiveService.start(
            .master(workers: 2, arguments: []), environment: try backend.environment(AccountsTests.environment))
        defer { service.stop() }
        let created = try AccountsTests.createAdmin(service)
        #expect(created.status == 0, "\(created.output)")
        let login = try AccountsTests.post(
            service, "/api/auth/login", ["username": "root", "password": "admin password 1"])
        let admin = try #require(login.json?["access_token"] as? String)

        for name in ["100% cotton", "snake_case", "back\\slash", "Widget", "plain"] {
            let product = try AccountsTests.post(
                service, "/api/products", ["name": name, "price_cents": 100], token: admin)
            #expect(product.status == 201, "\(product.text)")
        }
        func names(_ query: String) throws -> [String] {
            let response = try service.client.get("/api/products?q=\(query)")
            #expect(response.status == 200, "\(response.text)")
            return (response.json?["items"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        }
        #expect(try names("%25") == ["100% cotton"])
        #expect(try names("_") == ["snake_case"])
        #expect(try names("%5C") == ["back\\slash"])
        #expect(try names("WID") == ["Widget"])
        // As LIKE patterns these would match "100% cotton" and "snake_case".
        #expect(try names("1%25n") == [])
        #expect(try names("a_e") == [])

        let token = try TasksTests.token(service, "lister")
        var ids: [Int] = []
        for (index, priority) in [3, 5, 3, 1, 5].enumerated() {
            let task = try AccountsTests.post(
                service, "/api/tasks", ["title": "t\(index)", "priority": priority], token: token)
            ids.append(try #require(task.json?["id"] as? Int))
        }
        let bearer = [("Authorization", "Bearer \(token)")]
        func page(_ query: String) throws -> HTTPResult {
            try service.client.get("/api/tasks?\(query)", headers: bearer)
        }
        func listed(_ response: HTTPResult) -> [Int] {
            (response.json?["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
        }
        #expect(listed(try page("sort=priority")) == [ids[3], ids[0], ids[2], ids[1], ids[4]])
        let first = try page("sort=-priority&per_page=2")
        let second = try page("sort=-priority&per_page=2&page=2")
        let third = try page("sort=-priority&per_page=2&page=3")
        #expect(listed(first) + listed(second) + listed(third) == [ids[1], ids[4], ids[0], ids[2], ids[3]])
        #expect(first.json?["total"] as? Int == 5)
        #expect(first.json?["pages"] as? Int == 3)
        #expect(
            second.header("Link")
                == "</api/tasks?sort=-priority&per_page=2&page=3>; rel=\"next\", "
                + "</api/tasks?sort=-priority&per_page=2&page=1>; rel=\"prev\"")
        #expect(listed(try page("priority=3&sort=-created_at")) == [ids[2], ids[0]])
    }
}
