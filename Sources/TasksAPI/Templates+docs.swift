// The /docs page: Swagger UI from nginx's /static/docs/, under a strict Content-Security-Policy.

import Flagon

extension Templates {
    /// What `/docs` may load: scripts, styles and the document from its own origin only (no
    /// inline script, no inline `<style>`: Swagger UI 5 sets its styles through the DOM, which
    /// `style-src` does not govern), images from there or `data:` (the stylesheet's icons), and
    /// nothing may frame it.
    public static let docsContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    /// `docs.html` for the document at `documentPath`, with ``docsContentSecurityPolicy``.
    func docsPage(title: String, documentPath: String) throws -> Response {
        var response = try page("docs", ["title": title, "specURL": documentPath])
        response.headers.replaceOrAdd(name: "Content-Security-Policy", value: Self.docsContentSecurityPolicy)
        return response
    }
}
