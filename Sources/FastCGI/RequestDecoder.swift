// Turns FastCGI params into the framework's Request, and a Response into CGI response bytes.

import Flagon

/// Decoding of CGI/FastCGI params (RFC 3875) into a ``Request``.
enum CGIRequest {
    /// The request described by `params`, without its body, and the declared body length.
    /// Returns nil for a `CONTENT_LENGTH` that is not a number.
    static func decode(_ params: [(name: String, value: String)]) -> (request: Request, contentLength: Int?)? {
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
        if badLength { return nil }
        var request: Request
        if let requestURI, requestURI.hasPrefix("/") {
            request = Request(method: method, target: requestURI, headers: headers, remoteAddress: remoteAddress)
        } else {
            let path = scriptName + pathInfo
            request = Request(
                method: method, path: path.isEmpty ? "/" : path, query: queryString, headers: headers,
                remoteAddress: remoteAddress)
        }
        return (request, contentLength)
    }

    /// `HTTP_X_REQUEST_ID` → `X-Request-Id`.
    static func headerName(fromParam name: String) -> String {
        let words = name.dropFirst(5).split(separator: "_", omittingEmptySubsequences: false)
        return words.map { word in word.prefix(1) + word.dropFirst().lowercased() }.joined(separator: "-")
    }
}

/// Encoding of a ``Response`` as a CGI response: `Status:` line, header fields, body.
enum CGIResponse {
    static func encode(_ response: Response) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + response.body.count)
        out.append(contentsOf: "Status: \(response.status.code) \(response.status.reasonPhrase)\r\n".utf8)
        var hasLength = false
        for field in response.headers {
            if !hasLength && field.name.utf8.count == 14 && field.name.lowercased() == "content-length" {
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
        for byte in text.utf8 where byte != 0x0D && byte != 0x0A && byte != 0 {
            out.append(byte)
        }
    }
}
