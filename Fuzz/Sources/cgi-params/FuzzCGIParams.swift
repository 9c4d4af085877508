// Fuzz target: FastCGI params, as libfcgi hands them over, decoded into a Request.

import Flagon

@testable import FastCGI

/// The input is an environment block, `NAME=value` entries ended by NUL bytes, as libfcgi
/// keeps a request's params; they are selected and copied as the worker does.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCGIParams(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let block = UnsafeBufferPointer(start: data, count: size)
    var params: [(name: String, value: String)] = []
    for entry in block.split(separator: 0, omittingEmptySubsequences: true) {
        guard let equals = entry.firstIndex(of: UInt8(ascii: "=")) else { continue }
        let name = UnsafeBufferPointer(rebasing: block[entry.startIndex..<equals])
        guard CGIRequest.isNeeded(name) else { continue }
        params.append(
            (
                String(decoding: name, as: UTF8.self),
                String(decoding: block[(equals + 1)..<entry.endIndex], as: UTF8.self)
            ))
    }
    let (request, contentLength) = CGIRequest.decode(params)
    if let contentLength { precondition(contentLength >= 0) }
    precondition(request.path.hasPrefix("/"), "path \(request.path) does not start with /")
    // What handlers and middleware read from every request.
    _ = request.queryItems
    _ = request.ifMatch
    _ = request.ifNoneMatch
    _ = request.headers["Authorization"]
    _ = Request.isJSON(contentType: request.headers["Content-Type"])
    for field in request.headers { precondition(!field.name.isEmpty) }
    return 0
}
