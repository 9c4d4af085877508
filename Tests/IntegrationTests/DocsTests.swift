// /docs through real nginx: the page, its policy, every file it loads from nginx's /static/docs/; templates at start-up.

import Foundation
import Testing

@Suite("/docs through nginx", .serialized)
struct DocsTests {
    @Test("/docs is the application's page under its policy; every file it loads is nginx's, cached, same origin")
    func docsThroughNginx() throws {
        let service = try LiveService.start(.master(workers: 2, arguments: []))
        defer { service.stop() }
        let page = try service.client.get("/docs")
        #expect(page.status == 200)
        #expect(page.header("Content-Type") == "text/html; charset=utf-8")
        #expect(page.header("X-Content-Type-Options") == "nosniff")
        #expect(page.header("X-Request-Id") != nil, "the page is the application's (API.md section 1)")
        let policy = try #require(page.header("Content-Security-Policy"))
        for directive in [
            "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
            "img-src 'self' data:", "frame-ancestors 'none'",
        ] {
            #expect(policy.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.contains(directive))
        }

        let references = Self.references(in: page.text)
        #expect(references.filter { $0.attribute == "src" }.count == 2)
        #expect(references.contains { $0.value.hasSuffix("/swagger-ui-bundle.js") })
        #expect(references.contains { $0.value.hasSuffix("/swagger-ui.css") })
        for reference in references {
            // A path on this origin: no scheme, no host.
            #expect(reference.value.hasPrefix("/") && !reference.value.hasPrefix("//"), "\(reference.value)")
            if reference.value == "/openapi.json" { continue }  // the noscript link
            #expect(reference.value.hasPrefix("/static/docs/"), "\(reference.value)")
            let file = try service.client.get(reference.value)
            #expect(file.status == 200, "\(reference.value)")
            #expect(file.header("X-Request-Id") == nil, "\(reference.value) is served by nginx, not a worker")
            #expect(file.header("X-Content-Type-Options") == "nosniff", "\(reference.value)")
            #expect(file.header("Content-Security-Policy")?.contains("default-src 'none'") == true)
            let onDisk = try Data(
                contentsOf: Paths.repositoryRoot.appendingPathComponent(String(reference.value.dropFirst())))
            // Compared outside #expect: a failed #expect on two large values diffs them, which
            // takes minutes for a megabyte.
            let isInstalledFile = Data(file.body) == onDisk
            #expect(isInstalledFile, "\(reference.value) is the installed file (\(file.body.count) bytes served)")
            let cache = file.header("Cache-Control")
            if reference.value.hasPrefix("/static/docs/swagger-ui-") {
                #expect(cache == "public, max-age=31536000, immutable", "\(reference.value)")
            } else {
                #expect(cache == "no-cache", "\(reference.value)")
                #expect(file.header("ETag") != nil || file.header("Last-Modified") != nil)
            }
            let type = file.header("Content-Type")
            switch (reference.value as NSString).pathExtension {
            case "js": #expect(type == "application/javascript")
            case "css": #expect(type == "text/css")
            case "png": #expect(type == "image/png")
            default: Issue.record("unexpected file type: \(reference.value)")
            }
        }

        // What the stylesheets load themselves stays inside the policy: data: images only.
        for stylesheet in references where stylesheet.value.hasSuffix(".css") {
            let css = try service.client.get(stylesheet.value).text
            for url in css.components(separatedBy: "url(").dropFirst() {
                let target = url.trimmingCharacters(in: CharacterSet(charactersIn: "\"' "))
                #expect(target.hasPrefix("data:"), "\(stylesheet.value) loads \(target.prefix(40))")
            }
            #expect(!css.contains("@import"))
        }

        // Authorize offers the document's bearer scheme, and Try it out calls this origin.
        let document = try #require(try service.client.get("/openapi.json").json)
        let schemes = (document["components"] as? [String: Any])?["securitySchemes"] as? [String: Any]
        let bearer = schemes?.values.compactMap { $0 as? [String: Any] }.first { $0["scheme"] as? String == "bearer" }
        #expect(bearer?["type"] as? String == "http")
        let servers = (document["servers"] as? [[String: Any]]) ?? []
        #expect(servers.allSatisfy { ($0["url"] as? String)?.hasPrefix("/") == true })
    }

    @Test("a missing /static/docs/ file is nginx's 404, not cached for good")
    func missingFile() throws {
        let service = try LiveService.start(.master(workers: 1, arguments: []))
        defer { service.stop() }
        let missing = try service.client.get("/static/docs/swagger-ui-0.0.0/swagger-ui-bundle.js")
        #expect(missing.status == 404)
        #expect(missing.json?["status"] as? Int == 404)
        #expect(missing.header("Cache-Control") == "no-store")
        #expect(missing.header("X-Content-Type-Options") == "nosniff")
    }

    @Test("serve with a missing templates folder exits at start-up with one line naming it")
    func missingTemplates() throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-templates-\(UUID())").path
        try TransportSecurityTests.expectRefusals([
            ([], ["TEMPLATES_PATH": missing], "cannot start: the templates folder \(missing) does not exist")
        ])
    }

    /// The `src` and `href` attributes of a page, in order.
    static func references(in html: String) -> [(attribute: String, value: String)] {
        var found: [(attribute: String, value: String)] = []
        for attribute in ["src", "href"] {
            var rest = Substring(html)
            while let start = rest.range(of: " \(attribute)=\"") {
                rest = rest[start.upperBound...]
                guard let end = rest.firstIndex(of: "\"") else { break }
                found.append((attribute, String(rest[..<end])))
                rest = rest[end...]
            }
        }
        return found
    }
}
