// Turns FastCGI params into the framework's Request, and a Response into CGI response bytes.

import Flagon

/// Decoding of CGI/FastCGI params (RFC 3875) into a ``Request``.
enum CGIRequest {
    /// The request described by `params`, without its body, and the declared body length.
    /// A `CONTENT_LENGTH` that is not a number leaves the request with a `400` transport
    /// error, answered (and logged) under its real method and path.
    static func decode(_ params: [(name: String, value: String)]) -> (request: Request, contentLength: Int?) {
        var method = HTTPMethod.get
        var requestURI: String?
        var scriptName = ""
        var pathInfo = ""
        var queryString = ""
        var remoteAddress = ""
        var headers = HTTPHeaders()
        var contentLength: Int?
        var badLength = false
        for (name, value) in params {
            if name.utf8.starts(with: "HTTP_".utf8) {
                // nginx sends HTTP_PROXY etc. as "" when stripping: empty means absent.
                guard !value.isEmpty else { continue }
                // nginx also sends the body's headers as HTTP_CONTENT_*; CGI's CONTENT_* are
                // authoritative (as in werkzeug), so skip them rather than duplicate the fields.
                guard name != "HTTP_CONTENT_TYPE", name != "HTTP_CONTENT_LENGTH" else { continue }
                headers.add(name: headerName(fromParam: name), value: value)
                continue
            }
            switch name {
            case "REQUEST_METHOD": method = HTTPMethod(value)
            case "REQUEST_URI": requestURI = value
            case "SCRIPT_NAME": scriptName = value
            case "PATH_INFO": pathInfo = value
            case "QUERY_STRING": queryString = value
            case "REMOTE_ADDR": remoteAddress = value
            case "CONTENT_TYPE": if !value.isEmpty { headers.add(name: "Content-Type", value: value) }
            case "CONTENT_LENGTH":
                if value.isEmpty { break }
                if let length = Int(value), length >= 0 {
                    contentLength = length
                    headers.add(name: "Content-Length", value: value)
                } else {
                    badLength = true
                }
            default: break
            }
        }
        var request: Request
        if let requestURI, requestURI.hasPrefix("/") {
            request = Request(method: method, target: requestURI, headers: headers, remoteAddress: remoteAddress)
        } else {
            // Only a raw FastCGI peer omits REQUEST_URI; whatever it sends, the path the router
            // sees is absolute, as from nginx.
            let path = scriptName + pathInfo
            request = Request(
                method: method, path: path.hasPrefix("/") ? path : "/" + path, query: queryString,
                headers: headers, remoteAddress: remoteAddress)
        }
        if badLength {
            request.transportError = HTTPError(.badRequest, message: "The Content-Length is not a number.")
        }
        return (request, contentLength)
    }

    /// The params ``decode(_:)`` reads: every `HTTP_*` header and the CGI variables below.
    static let neededNames: [[UInt8]] = [
        "REQUEST_METHOD", "REQUEST_URI", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REMOTE_ADDR",
        "CONTENT_TYPE", "CONTENT_LENGTH",
    ].map { Array($0.utf8) }

    /// Whether a param is worth copying out of libfcgi, tested on its raw name.
    static func isNeeded(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        if name.count > 5, name[0] == UInt8(ascii: "H"), name[1] == UInt8(ascii: "T"), name[2] == UInt8(ascii: "T"),
            name[3] == UInt8(ascii: "P"), name[4] == UInt8(ascii: "_")
        {
            return true
        }
        return neededNames.contains { $0.count == name.count && $0.elementsEqual(name) }
    }

    /// `HTTP_X_REQUEST_ID` → `X-Request-Id`, in one pass over the ASCII bytes.
    static func headerName(fromParam name: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(name.utf8.count - 5)
        var startOfWord = true
        for byte in name.utf8.dropFirst(5) {
            if byte == UInt8(ascii: "_") {
                bytes.append(UInt8(ascii: "-"))
                startOfWord = true
                continue
            }
            let isUpper = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")
            bytes.append(!startOfWord && isUpper ? byte | 0x20 : byte)
            startOfWord = false
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Encoding of a ``Response`` as a CGI response: `Status:` line, header fields, body.
enum CGIResponse {
    static func encode(_ response: Response) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + response.body.count)
        out.append(contentsOf: "Status: ".utf8)
        out.append(contentsOf: String(response.status.code).utf8)
        out.append(UInt8(ascii: " "))
        appendSanitised(response.status.reasonPhrase, to: &out)
        out.append(contentsOf: "\r\n".utf8)
        var hasLength = false
        for field in response.headers {
            if !hasLength && HTTPHeaders.namesMatch(field.name, "Content-Length") {
                hasLength = true
            }
            appendSanitised(field.name, to: &out)
            out.append(contentsOf: ": ".utf8)
            appendSanitised(field.value, to: &out)
            out.append(contentsOf: "\r\n".utf8)
        }
        if !hasLength {
            out.append(contentsOf: "Content-Length: \(response.body.count)\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        out.append(contentsOf: response.body)
        return out
    }

    /// Drops CR, LF and NUL, so no value can split the header block.
    private static func appendSanitised(_ text: String, to out: inout [UInt8]) {
        let utf8 = text.utf8
        if !utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) {
            out.append(contentsOf: utf8)
            return
        }
        for byte in utf8 where byte != 0x0D && byte != 0x0A && byte != 0 {
            out.append(byte)
        }
    }
}
