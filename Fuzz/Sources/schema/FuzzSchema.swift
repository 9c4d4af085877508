// Fuzz target: request bodies and query strings through the application's own input schemas.

@testable import Flagon
@testable import TasksAPI

/// Decodes the input with `T`'s schema: a 400 is fine, anything else (a `DecodingError`
/// means a 500) is a bug, and whatever passes must satisfy every field of the schema.
private func check<T: SchemaDecodable>(_ type: T.Type, body: [UInt8]) {
    guard let json = try? JSONParser.parse(body) else { return }
    checkValidated(T.schema, of: "\(T.self)") { () throws(HTTPError) -> JSONObject in try T.schema.validate(json) }
    do {
        _ = try T.decode(from: json)
    } catch let error as HTTPError {
        precondition(error.status == .badRequest && error.fieldErrors != nil, "unexpected \(error)")
        _ = error.response
    } catch {
        fatalError("\(T.self) failed to decode a validated body: \(error)")
    }
}

private func check<T: SchemaDecodable>(_ type: T.Type, query: String) {
    let items = QueryString.parse(query)
    checkValidated(T.schema, of: "\(T.self)") { () throws(HTTPError) -> JSONObject in
        try T.schema.validate(query: items)
    }
    do {
        _ = try T.decode(query: items)
    } catch let error as HTTPError {
        precondition(error.status == .badRequest && error.fieldErrors != nil, "unexpected \(error)")
        _ = error.response
    } catch {
        fatalError("\(T.self) failed to decode a validated query: \(error)")
    }
}

/// Validates the input as a resource's create body, or with `partial` its partial update's:
/// a 400 is fine, and whatever passes must satisfy every field and build a model.
private func check<Model>(_ declaration: ResourceDeclaration<Model>, partial: Bool, body: [UInt8]) {
    guard let json = try? JSONParser.parse(body) else { return }
    let schema = partial ? declaration.patchSchema : declaration.inputSchema
    checkValidated(schema, of: declaration.name) { () throws(HTTPError) -> JSONObject in try schema.validate(json) }
    if partial {
        if let patch = try? declaration.patch(json) { _ = declaration.json(patch.applied(to: declaration.blank)) }
    } else if let input = try? declaration.input(json) {
        _ = declaration.json(input.model)
    }
}

private func checkValidated(_ schema: ObjectSchema, of name: String, _ validate: () throws(HTTPError) -> JSONObject) {
    let valid: JSONObject
    do {
        valid = try validate()
    } catch {
        let errors = error.fieldErrors ?? [:]
        let unknown = errors.values.filter { $0 == ["Unknown field."] }.count
        precondition(unknown <= ObjectSchema.maximumUnknownFieldErrors, "\(unknown) unknown-field errors")
        return
    }
    for (key, value) in valid {
        guard let field = schema.field(named: key) else { fatalError("\(key) is not a field of \(name)") }
        precondition(field.problems(with: value).isEmpty, "\(key) = \(value) passed with problems")
        if case .string(let text) = value { precondition(!text.utf8.contains(0), "NUL passed in \(key)") }
        if case .bigInteger = value { fatalError("a big integer passed in \(key)") }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSchema(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch data[0] % 8 {
    case 0: check(TaskItem.resource, partial: false, body: input)
    case 1: check(TaskItem.resource, partial: true, body: input)
    case 2: check(Product.resource, partial: false, body: input)
    case 3: check(Product.resource, partial: true, body: input)
    case 4: check(RegisterInput.self, body: input)
    case 5: check(LoginInput.self, body: input)
    case 6: check(TaskListQuery.self, query: String(decoding: input, as: UTF8.self))
    default: check(ProductListQuery.self, query: String(decoding: input, as: UTF8.self))
    }
    return 0
}
