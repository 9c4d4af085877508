// Turns FastCGI params into the framework's Request, and a Response into CGI response bytes.

import Flagon

#if canImport(Glibc)
    import Glibc
#endif

/// Decoding of CGI/FastCGI params (RFC 3875) into a ``Request``.
enum CGIRequest {
    /// The request described by `params`, without its body, and the declared body length.
    /// A `CONTENT_LENGTH` that is not a number leaves the request with a `400` transport
    /// error, answered (and logged) under its real method and path.
    static func decode(_ params: [(name: String, value: String)]) -> (request: Request, contentLength: Int?) {
        var decoder = Decoder()
        for (name, value) in params {
            var name = name
            var value = value
            name.withUTF8 { name in value.withUTF8 { value in decoder.take(name: name, value: value) } }
        }
        return decoder.finish()
    }

    /// ``decode(_:)`` fed one param at a time as raw bytes, as libfcgi holds them: only the
    /// values it keeps become strings, and names are compared in place.
    struct Decoder {
        var method = HTTPMethod.get
        var requestURI: String?
        var scriptName = ""
        var pathInfo = ""
        var queryString = ""
        var remoteAddress = ""
        var proxyRequestID = ""
        var headers = HTTPHeaders()
        var contentLength: Int?
        var badLength = false

        mutating func take(name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
            if isHeaderParam(name) {
                // nginx sends HTTP_PROXY etc. as "" when stripping: empty means absent.
                guard !value.isEmpty else { return }
                // nginx also sends the body's headers as HTTP_CONTENT_*; CGI's CONTENT_* are
                // authoritative (as in werkzeug), so skip them rather than duplicate the fields.
                guard !matches(name, "HTTP_CONTENT_TYPE"), !matches(name, "HTTP_CONTENT_LENGTH") else { return }
                headers.add(name: headerName(fromParam: name), value: text(value))
            } else if matches(name, "REQUEST_METHOD") {
                method = HTTPMethod(text(value))
            } else if matches(name, "REQUEST_URI") {
                requestURI = text(value)
            } else if matches(name, "SCRIPT_NAME") {
                scriptName = text(value)
            } else if matches(name, "PATH_INFO") {
                pathInfo = text(value)
            } else if matches(name, "QUERY_STRING") {
                queryString = text(value)
            } else if matches(name, "REMOTE_ADDR") {
                remoteAddress = text(value)
            } else if matches(name, "REQUEST_ID") {
                if RequestIDMiddleware.isValid(bytes: value) { proxyRequestID = text(value) }
            } else if matches(name, "CONTENT_TYPE") {
                if !value.isEmpty { headers.add(name: "Content-Type", value: text(value)) }
            } else if matches(name, "CONTENT_LENGTH") {
                if value.isEmpty { return }
                let value = text(value)
                if let length = Int(value), length >= 0 {
                    contentLength = length
                    headers.add(name: "Content-Length", value: value)
                } else {
                    badLength = true
                }
            }
        }

        func finish() -> (request: Request, contentLength: Int?) {
            var request: Request
            if let requestURI, requestURI.hasPrefix("/") {
                request = Request(method: method, target: requestURI, headers: headers, remoteAddress: remoteAddress)
            } else {
                // Only a raw FastCGI peer omits REQUEST_URI; whatever it sends, the path the
                // router sees is absolute, as from nginx.
                let path = scriptName + pathInfo
                request = Request(
                    method: method, path: path.hasPrefix("/") ? path : "/" + path, query: queryString,
                    headers: headers, remoteAddress: remoteAddress)
            }
            // nginx's own id of the request: the fresh X-Request-Id when the client sent none,
            // the same in nginx's log and, for a request nginx retries, on both attempts.
            request.id = proxyRequestID
            if badLength {
                request.transportError = HTTPError(.badRequest, message: "The Content-Length is not a number.")
            }
            return (request, contentLength)
        }

        private func text(_ bytes: UnsafeBufferPointer<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
    }

    /// Whether `bytes` spell `name` exactly.
    static func matches(_ bytes: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool {
        bytes.count == name.utf8CodeUnitCount
            && (bytes.isEmpty || memcmp(bytes.baseAddress!, name.utf8Start, bytes.count) == 0)
    }

    /// Whether a param name starts with `HTTP_` and has more after it.
    static func isHeaderParam(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        name.count > 5 && name[0] == UInt8(ascii: "H") && name[1] == UInt8(ascii: "T") && name[2] == UInt8(ascii: "T")
            && name[3] == UInt8(ascii: "P") && name[4] == UInt8(ascii: "_")
    }

    /// The params ``Decoder`` reads: every `HTTP_*` header and the CGI variables below.
    static let neededNames: [[UInt8]] = [
        "REQUEST_METHOD", "REQUEST_URI", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REMOTE_ADDR",
        "CONTENT_TYPE", "CONTENT_LENGTH", "REQUEST_ID",
    ].map { Array($0.utf8) }

    /// Whether ``Decoder`` reads a param, tested on its raw name.
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
        var name = name
        return name.withUTF8(headerName(fromParam:))
    }

    /// ``headerName(fromParam:)`` of a name's bytes, written straight into the string.
    static func headerName(fromParam name: UnsafeBufferPointer<UInt8>) -> String {
        let count = max(0, name.count - 5)
        return String(unsafeUninitializedCapacity: count) { out in
            var startOfWord = true
            for index in 0..<count {
                let byte = name[5 + index]
                if byte == UInt8(ascii: "_") {
                    out[index] = UInt8(ascii: "-")
                    startOfWord = true
                    continue
                }
                let isUpper = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")
                out[index] = !startOfWord && isUpper ? byte | 0x20 : byte
                startOfWord = false
            }
            return count
        }
    }
}

/// Encoding of a ``Response`` as a CGI response: `Status:` line, header fields, body.
enum CGIResponse {
    static func encode(_ response: Response) -> [UInt8] {
        let reason = response.status.reasonPhrase
        // Room for everything at most (sanitising only drops bytes), so the bytes are written
        // through a pointer: no capacity check or generic append for each piece.
        var bound = 8 + 20 + 1 + reason.utf8.count + 2
        var hasLength = false
        let fields = response.headers.storedFields
        let rateLimit = response.headers.rateLimit
        for field in fields {
            bound += field.name.utf8.count + field.value.utf8.count + 4
            if !hasLength && HTTPHeaders.namesMatch(field.name, "Content-Length") { hasLength = true }
        }
        if rateLimit != nil { bound += RateLimitFields.maxEncodedCount }
        if !hasLength { bound += 16 + 20 + 2 }
        bound += 2 + response.body.count
        return [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            var writer = Writer(base: buffer.baseAddress!)
            writer.append("Status: ")
            writer.appendDecimal(response.status.code)
            writer.append(" ")
            writer.appendSanitised(reason)
            writer.append("\r\n")
            for (index, field) in fields.enumerated() {
                if let rateLimit, index == rateLimit.position { writer.append(rateLimit) }
                writer.appendSanitised(field.name)
                writer.append(": ")
                writer.appendSanitised(field.value)
                writer.append("\r\n")
            }
            if let rateLimit, rateLimit.position >= fields.count { writer.append(rateLimit) }
            if !hasLength {
                writer.append("Content-Length: ")
                writer.appendDecimal(response.body.count)
                writer.append("\r\n")
            }
            writer.append("\r\n")
            response.body.withUnsafeBufferPointer { writer.append($0) }
            count = writer.length
        }
    }

    /// Writes into memory known to be large enough.
    struct Writer {
        let base: UnsafeMutablePointer<UInt8>
        var length = 0

        mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
            guard let start = bytes.baseAddress, !bytes.isEmpty else { return }
            (base + length).update(from: start, count: bytes.count)
            length += bytes.count
        }

        mutating func append(_ text: StaticString) {
            append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        }

        /// Drops CR, LF and NUL, so no value can split the header block.
        mutating func appendSanitised(_ text: String) {
            // Scanned over contiguous bytes: in place for a native string, a copy on the stack
            // for a small one (a number, a short token), never byte by byte through the view.
            var text = text
            text.withUTF8 { bytes in
                guard Self.hasBreaking(bytes) else { return append(bytes) }
                for byte in bytes where !isBreaking(byte) { appendByte(byte) }
            }
        }

        /// Whether `bytes` hold a CR, LF or NUL, tested eight bytes at a time: every header
        /// name and value of every response is scanned.
        static func hasBreaking(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            guard let start = bytes.baseAddress else { return false }
            let raw = UnsafeRawPointer(start)
            let count = bytes.count
            guard count >= 8 else {
                for index in 0..<count where start[index] == 0x0D || start[index] == 0x0A || start[index] == 0 {
                    return true
                }
                return false
            }
            var offset = 0
            while offset + 8 < count {
                if wordHasBreaking(raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) { return true }
                offset += 8
            }
            // The last eight bytes, overlapping the word before if the count is not a multiple.
            return wordHasBreaking(raw.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self))
        }

        /// Whether a byte of `word` is CR, LF or NUL (the classic "has zero byte" test on the
        /// word and on its XORs with CR and LF in every byte).
        @inline(__always)
        static func wordHasBreaking(_ word: UInt64) -> Bool {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            func hasZero(_ value: UInt64) -> UInt64 { (value &- ones) & ~value & highs }
            return hasZero(word) | hasZero(word ^ (ones &* 0x0D)) | hasZero(word ^ (ones &* 0x0A)) != 0
        }

        /// The rate limiter's three fields, written from their numbers: names known and digits
        /// need no sanitising.
        mutating func append(_ fields: RateLimitFields) {
            appendField(RateLimitFields.limitNameText, fields.limit)
            appendField(RateLimitFields.remainingNameText, fields.remaining)
            appendField(RateLimitFields.resetNameText, fields.reset)
        }

        private mutating func appendField(_ name: StaticString, _ value: Int64) {
            append(name)
            append(": ")
            length += DecimalText.write(value, to: base + length)
            append("\r\n")
        }

        mutating func appendByte(_ byte: UInt8) {
            base[length] = byte
            length += 1
        }

        /// The decimal digits of `value` (a status code, a length, a rate-limit number; `-`
        /// first if negative).
        mutating func appendDecimal(_ value: Int) {
            length += DecimalText.write(Int64(value), to: base + length)
        }

        private func isBreaking(_ byte: UInt8) -> Bool {
            byte == 0x0D || byte == 0x0A || byte == 0
        }
    }
}
