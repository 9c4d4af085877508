// The HTML pages of templates/, parsed once per worker and rendered as Flask's render_template.

import Flagon
import Foundation
import Mustache

/// The application's page templates: every `*.html` file of the templates folder, registered
/// under its name without the extension (`index`, `login`, `docs`), parsed once when the
/// application is built.
///
/// `{{name}}` is HTML-escaped (`<`, `>`, `&`, `"`, `'`), as Jinja2 autoescapes under Flask;
/// the templates use no triple mustaches, so nothing a request carries is written unescaped.
///
/// ```swift
/// let templates = try Templates(folder: Templates.folder(config: config))
/// site.get("/") { _ in try templates.page("login", [:]) }
/// ```
public struct Templates: Sendable {
    /// The pages the routes render: start-up fails when one is missing, never a request.
    public static let required = ["index", "login", "docs"]

    /// The folder the templates were read from, absolute.
    public let folder: String
    private let library: MustacheLibrary

    /// Reads and parses every template of `folder`.
    /// - Throws: ``ConfigError`` naming the folder when it is missing or lacks a required
    ///   template, or naming the file, line and column of a template that does not parse.
    public init(folder: String) throws(ConfigError) {
        let absolute = URL(fileURLWithPath: folder).standardizedFileURL.path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isFolder), isFolder.boolValue else {
            throw ConfigError(
                "the templates folder \(absolute) does not exist; set TEMPLATES_PATH to the folder holding index.html")
        }
        let library = MustacheLibrary(templates: try Self.load(absolute))
        let missing = Self.required.filter { library.getTemplate(named: $0) == nil }
        guard missing.isEmpty else {
            let files = missing.map { $0 + ".html" }.joined(separator: ", ")
            throw ConfigError("the templates folder \(absolute) has no \(files)")
        }
        self.folder = absolute
        self.library = library
    }

    /// Templates for an application that only describes itself (`routes`, `openapi`): it reads
    /// no file and never serves, so every page would be an error.
    static let unread = Templates(folder: "", library: MustacheLibrary())

    private init(folder: String, library: MustacheLibrary) {
        self.folder = folder
        self.library = library
    }

    /// `name` rendered with `context` as a `text/html` response.
    /// - Parameter context: string keys to strings, booleans, arrays or dictionaries of them.
    public func page(_ name: String, _ context: [String: Any]) throws -> Response {
        guard let text = library.render(context, withTemplate: name) else {
            throw TemplateNotFound(name: name)
        }
        return .html(text)
    }

    /// A route asked for a template that the folder lacks and ``required`` does not list.
    struct TemplateNotFound: Error, CustomStringConvertible {
        let name: String
        var description: String { "no template named \(name)" }
    }

    /// Every `*.html` file of `folder` (not its subfolders), parsed, by name.
    private static func load(_ folder: String) throws(ConfigError) -> [String: MustacheTemplate] {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".html") }
        } catch {
            throw ConfigError("the templates folder \(folder) cannot be read: \(error.localizedDescription)")
        }
        var templates: [String: MustacheTemplate] = [:]
        for file in files.sorted() {
            let path = folder + "/" + file
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigError("the template \(path) cannot be read")
            }
            do {
                templates[String(file.dropLast(".html".count))] = try MustacheTemplate(
                    string: String(decoding: data, as: UTF8.self))
            } catch let error as MustacheTemplate.ParserError {
                throw ConfigError(
                    "the template \(path) does not parse: \(error.error) at line \(error.context.lineNumber), "
                        + "column \(error.context.columnNumber)")
            } catch {
                throw ConfigError("the template \(path) does not parse: \(error)")
            }
        }
        return templates
    }
}
