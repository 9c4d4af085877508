// The pages of templates/: escaping, the /docs page's references and policy, and start-up failures.

import Flagon
import Foundation
import TasksAPI
import Testing

@Suite("Templates")
struct TemplatesTests {
    /// The repository's templates folder, whatever the working directory of the test run.
    static let repositoryTemplates = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("templates").path

    @Test("GET / escapes every identity value the platform's headers carry")
    func homeEscapesHeaders() async throws {
        try await AccountsFixture.with(["TRUST_PROXY_AUTH": "true", "TEMPLATES_PATH": Self.repositoryTemplates]) {
            fixture in
            let response = await fixture.client.get(
                "/",
                headers: [
                    "X-Replit-User-Id": #""><img src=x onerror=alert(1)>"#,
                    "X-Replit-User-Name": "<script>alert('x')</script> & co",
                    "X-Replit-User-Roles": #"admin, <b onclick="x">boss</b>"#,
                ])
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"] == "text/html; charset=utf-8")
            #expect(response.headers["X-Content-Type-Options"] == "nosniff")
            #expect(response.headers["X-Request-Id"] != nil)
            let text = response.text
            #expect(text.hasPrefix("<!doctype html>"))
            #expect(text.contains("<title>tasks-api: Signed in</title>"))
            #expect(
                text.contains("Signed in as <strong>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co</strong>"))
            #expect(text.contains("(id <code>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</code>"))
            #expect(text.contains("roles: admin, &lt;b onclick=&quot;x&quot;&gt;boss&lt;/b&gt;, via proxy)."))
            for raw in ["<script", "<img", "<b ", "onclick=\""] { #expect(!text.contains(raw), "\(raw) unescaped") }
        }
    }

    @Test("GET / without an identity is the login page; an identity without roles says none")
    func homePages() async throws {
        try await AccountsFixture.with(["TRUST_PROXY_AUTH": "true", "TEMPLATES_PATH": Self.repositoryTemplates]) {
            fixture in
            let anonymous = await fixture.client.get("/")
            #expect(anonymous.status == 200)
            #expect(anonymous.text.hasPrefix("<!doctype html>"))
            #expect(anonymous.text.contains("<h1>Sign in</h1>"))
            #expect(anonymous.text.contains("You are not signed in."))
            #expect(anonymous.text.contains(#"<a href="/docs">/docs</a>"#))
            let plain = await fixture.client.get("/", headers: ["X-Replit-User-Id": "7", "X-Replit-User-Name": "ann"])
            #expect(
                plain.text.contains("Signed in as <strong>ann</strong>\n(id <code>7</code>, roles: none, via proxy)."))
        }
    }

    @Test("GET /docs loads only /static/docs/ files, no inline script, under the strict policy")
    func docsPage() async throws {
        try await AccountsFixture.with(["TEMPLATES_PATH": Self.repositoryTemplates]) { fixture in
            let response = await fixture.client.get("/docs")
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"] == "text/html; charset=utf-8")
            #expect(response.headers["X-Content-Type-Options"] == "nosniff")
            let policy = try #require(response.headers["Content-Security-Policy"])
            let directives = Dictionary(
                uniqueKeysWithValues: policy.split(separator: ";").map { directive in
                    let words = directive.split(separator: " ").map(String.init)
                    return (words[0], Set(words.dropFirst()))
                })
            #expect(directives["default-src"] == ["'none'"])
            #expect(directives["script-src"] == ["'self'"])
            #expect(directives["style-src"] == ["'self'"])
            #expect(directives["connect-src"] == ["'self'"])
            #expect(directives["img-src"] == ["'self'", "data:"])
            #expect(directives["frame-ancestors"] == ["'none'"])

            let references = Self.references(in: response.text)
            #expect(references.contains("/static/docs/init.js"))
            #expect(references.contains { $0.hasSuffix("/swagger-ui-bundle.js") })
            #expect(references.contains { $0.hasSuffix("/swagger-ui.css") })
            // Same origin only; what the page loads comes from nginx's /static/docs/, the
            // noscript link to the document aside.
            for reference in references {
                #expect(reference.hasPrefix("/") && !reference.hasPrefix("//"), "\(reference)")
                #expect(reference.hasPrefix("/static/docs/") || reference == "/openapi.json", "\(reference)")
            }
            // Every script is a file: an inline one would be refused by script-src 'self'.
            #expect(response.text.components(separatedBy: "<script").count - 1 == 2)
            #expect(response.text.components(separatedBy: "></script>").count - 1 == 2)
            #expect(!response.text.contains("<style"))
            #expect(!response.text.contains(" style="))
        }
    }

    @Test("a missing templates folder stops start-up with a message naming it, before any request")
    func missingFolder() async throws {
        try await withTemporaryDirectory { folder in
            let missing = folder + "/no-templates"
            let error = await #expect(throws: ConfigError.self) {
                _ = try await buildApplication(folder + "/instance", ["TEMPLATES_PATH": missing])
            }
            #expect(error?.description.contains("the templates folder \(missing) does not exist") == true)
            #expect(error?.description.contains("TEMPLATES_PATH") == true)
            // check-config reports it too, as serve would refuse it.
            let config = try await Config.load(
                overrides: ["TEMPLATES_PATH": missing], environment: [:], instancePath: folder + "/instance")
            await #expect(throws: ConfigError.self) { _ = try await checkConfiguration(config: config) }
        }
    }

    @Test("a folder without a page the routes render, or with a template that does not parse, is refused")
    func incompleteFolder() async throws {
        try await withTemporaryDirectory { folder in
            for name in ["index", "login", "docs"] {
                try "<p>{{name}}</p>".write(toFile: "\(folder)/\(name).html", atomically: true, encoding: .utf8)
            }
            #expect(try Templates(folder: folder).folder == folder)

            try FileManager.default.removeItem(atPath: folder + "/docs.html")
            let missing = #expect(throws: ConfigError.self) { try Templates(folder: folder) }
            #expect(missing?.description == "the templates folder \(folder) has no docs.html")

            try "<p>\n{{#open}}never closed</p>".write(
                toFile: folder + "/docs.html", atomically: true, encoding: .utf8)
            let broken = #expect(throws: ConfigError.self) { try Templates(folder: folder) }
            #expect(broken?.description.hasPrefix("the template \(folder)/docs.html does not parse") == true)
            #expect(broken?.description.contains("line 2") == true)
        }
    }

    @Test("TEMPLATES_PATH wins; else the installed layout's folder beside bin/; else ./templates")
    func folderResolution() async throws {
        try await withTemporaryDirectory { folder in
            let executable = folder + "/opt/bin/tasks-api"
            let unset = try await Config.load(environment: [:], instancePath: folder)
            #expect(Templates.folder(config: unset, executable: executable) == "templates")
            #expect(Templates.folder(config: unset, executable: nil) == "templates")
            try FileManager.default.createDirectory(
                atPath: folder + "/opt/templates", withIntermediateDirectories: true)
            #expect(Templates.folder(config: unset, executable: executable) == folder + "/opt/templates")
            let set = try await Config.load(environment: ["TEMPLATES_PATH": "/srv/pages"], instancePath: folder)
            #expect(Templates.folder(config: set, executable: executable) == "/srv/pages")
        }
    }

    /// The `src` and `href` values of a page.
    static func references(in html: String) -> [String] {
        var found: [String] = []
        for attribute in ["src=\"", "href=\""] {
            var rest = Substring(html)
            while let start = rest.range(of: attribute) {
                rest = rest[start.upperBound...]
                guard let end = rest.firstIndex(of: "\"") else { break }
                found.append(String(rest[..<end]))
                rest = rest[end...]
            }
        }
        return found
    }
}
