// Pagination: the envelope, page counts and Link headers (API contract §7 and §12).

import Flagon
import Testing

@Suite("Pagination")
struct PaginationTests {
    private func pagination(page: Int, perPage: Int = 20, total: Int) -> Pagination {
        Pagination(page: PageQuery(page: page, perPage: perPage), total: total)
    }

    @Test("pages is 0 for an empty collection and rounds up otherwise")
    func pages() {
        #expect(pagination(page: 1, total: 0).pages == 0)
        #expect(pagination(page: 1, total: 1).pages == 1)
        #expect(pagination(page: 1, total: 20).pages == 1)
        #expect(pagination(page: 1, total: 21).pages == 2)
    }

    @Test("the envelope has items, page, per_page, total and pages")
    func envelope() {
        let body = pagination(page: 2, perPage: 10, total: 25).body(items: ["a"])
        #expect(body.jsonText == #"{"items": ["a"], "page": 2, "per_page": 10, "total": 25, "pages": 3}"#)
    }

    @Test("Link keeps the other parameters, in order, and replaces page")
    func linkKeepsParameters() {
        let request = Request(method: .get, target: "/api/tasks?completed=true&page=2&per_page=10&sort=-priority")
        let link = pagination(page: 2, perPage: 10, total: 35).linkHeader(for: request)
        #expect(
            link
                == "</api/tasks?completed=true&page=3&per_page=10&sort=-priority>; rel=\"next\", "
                + "</api/tasks?completed=true&page=1&per_page=10&sort=-priority>; rel=\"prev\"")
    }

    @Test("first page has only next, last only prev, a single page none")
    func edges() {
        let request = Request(method: .get, target: "/api/users")
        #expect(pagination(page: 1, total: 45).linkHeader(for: request) == "</api/users?page=2>; rel=\"next\"")
        #expect(pagination(page: 3, total: 45).linkHeader(for: request) == "</api/users?page=2>; rel=\"prev\"")
        #expect(pagination(page: 1, total: 5).linkHeader(for: request) == nil)
        #expect(pagination(page: 1, total: 0).linkHeader(for: request) == nil)
    }

    @Test("a page past the last links back to the last page")
    func pastTheEnd() {
        let request = Request(method: .get, target: "/api/users?page=9")
        #expect(pagination(page: 9, total: 45).linkHeader(for: request) == "</api/users?page=3>; rel=\"prev\"")
        #expect(pagination(page: 9, total: 45).next == nil)
    }

    @Test("values are re-encoded in the Link target")
    func encoding() {
        let request = Request(method: .get, target: "/api/products?q=a%20b%26c&page=1")
        #expect(
            pagination(page: 1, total: 30).linkHeader(for: request)
                == "</api/products?q=a%20b%26c&page=2>; rel=\"next\"")
    }

    @Test("offset does not overflow on absurd pages")
    func offset() {
        #expect(PageQuery(page: 3, perPage: 20).offset == 40)
        #expect(PageQuery(page: Int.max, perPage: 100).offset == Int.max)
    }
}
