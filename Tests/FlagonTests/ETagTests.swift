// Entity tags: parsing lists, strong and weak comparison, If-Match / If-None-Match (RFC 9110).

import Flagon
import Testing

@Suite("ETag")
struct ETagTests {
    @Test("a tag renders quoted, W/ for a weak one")
    func description() {
        #expect(ETag("42-7").description == "\"42-7\"")
        #expect(ETag("42-7", weak: true).description == "W/\"42-7\"")
        #expect(ETag("").description == "\"\"")
    }

    @Test("lists parse strong and weak tags with optional whitespace and empty elements")
    func parseList() {
        #expect(ETag.parseList("\"a\"") == [ETag("a")])
        #expect(ETag.parseList("W/\"a\"") == [ETag("a", weak: true)])
        #expect(
            ETag.parseList(" \"a\" ,W/\"b\",\t\"c\" , ,\"\"")
                == [ETag("a"), ETag("b", weak: true), ETag("c"), ETag("")])
        #expect(ETag.parseList("").isEmpty)
        #expect(ETag.parseList(" , ").isEmpty)
    }

    @Test("a comma inside the quotes belongs to the tag")
    func commaInsideQuotes() {
        #expect(ETag.parseList("\"a,b\", \"c\"") == [ETag("a,b"), ETag("c")])
    }

    @Test("malformed elements are skipped and match nothing; the well-formed ones still count")
    func malformed() {
        #expect(ETag.parseList("abc").isEmpty)
        #expect(ETag.parseList("w/\"a\"").isEmpty, "the weak prefix is a case-sensitive W/")
        #expect(ETag.parseList("\"unterminated").isEmpty)
        #expect(ETag.parseList("\"a b\"").isEmpty, "a space is not an etagc")
        #expect(ETag.parseList("\"a\"x").isEmpty, "text after the closing quote")
        #expect(ETag.parseList("abc, \"d\", W/x, \"e\"") == [ETag("d"), ETag("e")])
        #expect(ETag.parseList("\"a b, c\", \"d\"") == [ETag("d")])
    }

    @Test("RFC 9110's comparison table: strong needs two equal strong tags, weak only equal opaque tags")
    func comparison() {
        let weak1 = ETag("1", weak: true)
        let weak2 = ETag("2", weak: true)
        let strong1 = ETag("1")
        #expect(!weak1.matchesStrongly(weak1) && weak1.matchesWeakly(weak1))
        #expect(!weak1.matchesStrongly(weak2) && !weak1.matchesWeakly(weak2))
        #expect(!weak1.matchesStrongly(strong1) && weak1.matchesWeakly(strong1))
        #expect(!strong1.matchesStrongly(weak1) && strong1.matchesWeakly(weak1))
        #expect(strong1.matchesStrongly(strong1) && strong1.matchesWeakly(strong1))
        #expect(!strong1.matchesStrongly(ETag("2")) && !strong1.matchesWeakly(ETag("2")))
    }

    @Test("a condition is nil without the header, * or the tags of every line combined")
    func condition() {
        #expect(ETagCondition(headerValues: []) == nil)
        #expect(ETagCondition(headerValues: ["*"]) == .any)
        #expect(ETagCondition(headerValues: [" * "]) == .any)
        #expect(ETagCondition(headerValues: ["\"a\"", "W/\"b\""]) == .tags([ETag("a"), ETag("b", weak: true)]))
        #expect(ETagCondition(headerValues: ["garbage"]) == .tags([]))
    }

    @Test("If-Match semantics: strong comparison over the list, * for any existing resource")
    func strongCondition() {
        let current = ETag("3-2")
        #expect(ETagCondition.tags([ETag("3-1"), ETag("3-2")]).matchesStrongly(current))
        #expect(!ETagCondition.tags([ETag("3-2", weak: true)]).matchesStrongly(current))
        #expect(!ETagCondition.tags([ETag("3-1")]).matchesStrongly(current))
        #expect(!ETagCondition.tags([]).matchesStrongly(current))
        #expect(ETagCondition.any.matchesStrongly(current))
        #expect(!ETagCondition.any.matchesStrongly(nil), "* needs a current representation")
        #expect(!ETagCondition.tags([current]).matchesStrongly(nil))
    }

    @Test("If-None-Match semantics: weak comparison over the list, * for any existing resource")
    func weakCondition() {
        let current = ETag("3-2")
        #expect(ETagCondition.tags([ETag("3-2", weak: true)]).matchesWeakly(current))
        #expect(ETagCondition.tags([ETag("x"), ETag("3-2")]).matchesWeakly(current))
        #expect(!ETagCondition.tags([ETag("3-1"), ETag("3-3", weak: true)]).matchesWeakly(current))
        #expect(ETagCondition.any.matchesWeakly(current))
        #expect(!ETagCondition.any.matchesWeakly(nil))
    }

    @Test("the request reads If-Match and If-None-Match, case-insensitively and across lines")
    func requestHeaders() {
        var headers: HTTPHeaders = ["if-none-match": "W/\"1-1\", \"1-2\""]
        headers.add(name: "If-None-Match", value: "\"1-3\"")
        headers.add(name: "IF-MATCH", value: "*")
        let request = Request(method: .get, target: "/api/tasks/1", headers: headers)
        #expect(request.ifNoneMatch == .tags([ETag("1-1", weak: true), ETag("1-2"), ETag("1-3")]))
        #expect(request.ifMatch == .any)
        #expect(Request(method: .get, target: "/").ifMatch == nil)
        #expect(Request(method: .get, target: "/").ifNoneMatch == nil)
    }

    @Test("304 Not Modified has no body and carries the ETag")
    func notModified() {
        let response = Response.notModified(etag: ETag("9-4"))
        #expect(response.status == .notModified)
        #expect(response.headers["ETag"] == "\"9-4\"")
        #expect(response.body.isEmpty)
        #expect(!response.headers.contains("Content-Type"))
    }
}
