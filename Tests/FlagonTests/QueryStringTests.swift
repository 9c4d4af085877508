// Query strings: splitting, percent-decoding, `+` as space, hostile escapes, encoding.

import Flagon
import Testing

@Suite("Query string")
struct QueryStringTests {
    private func pairs(_ query: String) -> [String] {
        QueryString.parse(query).map { "\($0.name)=\($0.value)" }
    }

    @Test("pairs are split in order, repeated names kept")
    func ordering() {
        #expect(pairs("b=2&a=1&b=3") == ["b=2", "a=1", "b=3"])
    }

    @Test("empty input, empty pairs and names without = are handled")
    func emptyParts() {
        #expect(QueryString.parse("").isEmpty)
        #expect(pairs("&&a=1&&") == ["a=1"])
        #expect(pairs("flag&page=") == ["flag=", "page="])
        #expect(pairs("=x") == ["=x"])
        #expect(pairs("a=b=c") == ["a=b=c"])
        #expect(QueryString.parse("a=b=c").first?.value == "b=c")
    }

    @Test("names and values are percent-decoded and + is a space")
    func decoding() {
        #expect(pairs("q=hello+world&caf%C3%A9=%E2%9C%93") == ["q=hello world", "café=✓"])
        #expect(pairs("plus=%2B&amp=%26&eq=%3D") == ["plus=+", "amp=&", "eq=="])
        #expect(pairs("Mixed=%4a%4A") == ["Mixed=JJ"])
    }

    @Test("malformed escapes are kept literally")
    func malformedEscapes() {
        #expect(QueryString.decode("100%") == "100%")
        #expect(QueryString.decode("%4") == "%4")
        #expect(QueryString.decode("%zz%4g") == "%zz%4g")
        #expect(QueryString.decode("%%41") == "%A")
    }

    @Test("invalid UTF-8 from escapes is repaired, never a failure")
    func invalidUTF8() {
        #expect(QueryString.decode("a%FFb") == "a\u{FFFD}b")
        #expect(QueryString.decode("%C3") == "\u{FFFD}")
    }

    @Test("+ is a space only when asked")
    func plusHandling() {
        #expect(QueryString.decode("a+b") == "a+b")
        #expect(QueryString.decode("a+b", plusAsSpace: true) == "a b")
        #expect(QueryString.decode("a%2Bb", plusAsSpace: true) == "a+b")
    }

    @Test("encoding keeps only RFC 3986 unreserved characters")
    func encoding() {
        #expect(QueryString.encode("AZaz09-._~") == "AZaz09-._~")
        #expect(QueryString.encode("a b&c=d/é+%") == "a%20b%26c%3Dd%2F%C3%A9%2B%25")
        #expect(QueryString.decode(QueryString.encode("per cent % plus + ✓")) == "per cent % plus + ✓")
    }

    @Test("a request splits its target at the first ? and reads its query")
    func requestQuery() {
        #expect(Request.split(target: "/a/b?x=1?y=2") == ("/a/b", "x=1?y=2"))
        #expect(Request.split(target: "/a") == ("/a", ""))
        #expect(Request.split(target: "/a?") == ("/a", ""))

        let request = Request(method: .get, target: "/api/tasks?page=2&sort=-priority&page=3&q=a+b")
        #expect(request.path == "/api/tasks")
        #expect(request.query == "page=2&sort=-priority&page=3&q=a+b")
        #expect(request.queryValue("page") == "2")
        #expect(request.queryValue("q") == "a b")
        #expect(request.queryValue("missing") == nil)
        #expect(request.queryItems.map(\.name) == ["page", "sort", "page", "q"])
    }
}
