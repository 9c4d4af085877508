// Hummingbird 2 server for bench/run: GET /api/hello and GET /api/protected (HS256 bearer).
//
// What a Swift team would run instead of a FastCGI pool: one process, an event loop
// thread per core, HTTP/1.1 on 127.0.0.1 behind nginx proxy_pass with upstream
// keep-alive. The token check matches the C responder's: signature, alg, exp and nbf
// only, no revocation lookup, no log line.
//
//   hello-hummingbird PORT THREADS   (JWT_SECRET_KEY in the environment)
import Crypto
import Foundation
import Hummingbird
import NIOPosix

let arguments = CommandLine.arguments
guard arguments.count == 3, let port = Int(arguments[1]), let threads = Int(arguments[2]), threads > 0,
    Secret.key.bitCount > 0
else {
    FileHandle.standardError.write(Data("usage: JWT_SECRET_KEY=... hello-hummingbird PORT THREADS\n".utf8))
    exit(2)
}
// A static, not a top-level constant: top-level variables belong to the main actor.
enum Secret {
    static let key = SymmetricKey(data: Data((ProcessInfo.processInfo.environment["JWT_SECRET_KEY"] ?? "").utf8))
}

@Sendable func base64URLDecode(_ text: Substring) -> Data? {
    var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
    return Data(base64Encoded: base64)
}

struct Header: Decodable { let alg: String }
struct Claims: Decodable {
    let sub: String?
    let exp: Double?
    let nbf: Double?
}

/// The token's subject when the bearer token is a valid HS256 JWT, else nil.
@Sendable func verify(_ authorization: String?) -> String? {
    guard let authorization, authorization.hasPrefix("Bearer ") else { return nil }
    let token = authorization.dropFirst("Bearer ".count)
    let parts = token.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 3,
        let headerData = base64URLDecode(parts[0]),
        let header = try? JSONDecoder().decode(Header.self, from: headerData), header.alg == "HS256",
        let signature = base64URLDecode(parts[2]),
        HMAC<SHA256>.isValidAuthenticationCode(
            signature, authenticating: Data(token[..<parts[2].startIndex].dropLast().utf8), using: Secret.key),
        let claimsData = base64URLDecode(parts[1]),
        let claims = try? JSONDecoder().decode(Claims.self, from: claimsData)
    else { return nil }
    let now = Date().timeIntervalSince1970
    if let exp = claims.exp, now >= exp { return nil }
    if let nbf = claims.nbf, now < nbf { return nil }
    return claims.sub ?? ""
}

@Sendable func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
    Response(
        status: status, headers: [.contentType: "application/json"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
}

let router = Router()
router.get("/api/hello") { _, _ in json(.ok, #"{"message": "Hello, World!"}"#) }
router.get("/api/protected") { request, _ in
    guard let subject = verify(request.headers[.authorization]) else {
        return json(.unauthorized, #"{"error": "unauthorized"}"#)
    }
    return json(.ok, #"{"message": "Hello, user \#(subject)"}"#)
}

let app = Application(
    router: router,
    configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: port)),
    eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup(numberOfThreads: threads))
)
try await app.runService()
