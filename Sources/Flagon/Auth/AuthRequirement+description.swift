// A route's authentication requirement in a word or two, for `tasks-api routes`.

extension AuthRequirement: CustomStringConvertible {
    /// `none`, `optional`, `token`, `role admin`, `refresh` or `any token`; `+proxy` when the
    /// platform proxy's identity is accepted in place of a token.
    public var description: String {
        let text: String
        switch kind {
        case .none: return "none"
        case .optional: return "optional"
        case .token(let types) where types == [.refresh]: text = "refresh"
        case .token(let types) where types.count > 1: text = "any token"
        case .token: text = role.map { "role \($0)" } ?? "token"
        }
        return allowsProxy ? text + "+proxy" : text
    }

    /// Whether the route rejects a caller without a valid token (`401`).
    public var requiresToken: Bool {
        if case .token = kind { return true }
        return false
    }
}
