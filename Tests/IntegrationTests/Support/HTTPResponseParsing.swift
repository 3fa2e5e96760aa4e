import Foundation

/// One HTTP answer, as the tests' hand-written clients (`HealthProbe`, `WebAppClient`) read it.
struct HTTPResponse: Sendable, CustomStringConvertible {
    let status: Int
    /// Header names lowercased.
    let headers: [String: String]
    let body: String

    var description: String { "\(status) \(body)" }
}

/// Parses a complete response; nil while more bytes are needed (or, at end of stream, if malformed).
func parseHTTPResponse(_ bytes: [UInt8], atEnd: Bool = false) -> HTTPResponse? {
    let separator: [UInt8] = [13, 10, 13, 10]
    guard let headerEnd = bytes.firstRange(of: separator) else { return nil }
    let head = String(decoding: bytes[..<headerEnd.lowerBound], as: UTF8.self)
    let headLines = head.components(separatedBy: "\r\n")
    let statusParts = headLines[0].split(separator: " ")
    guard statusParts.count >= 2, let status = Int(statusParts[1]) else { return nil }
    var headers: [String: String] = [:]
    for line in headLines.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    let body = Array(bytes[headerEnd.upperBound...])
    if let length = headers["content-length"].flatMap({ Int($0) }) {
        guard body.count >= length else { return nil }
        return HTTPResponse(status: status, headers: headers, body: String(decoding: body[..<length], as: UTF8.self))
    }
    if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
        return decodeChunked(body).map { HTTPResponse(status: status, headers: headers, body: String(decoding: $0, as: UTF8.self)) }
    }
    // Neither: the body runs to the end of the stream.
    return atEnd ? HTTPResponse(status: status, headers: headers, body: String(decoding: body, as: UTF8.self)) : nil
}

/// The payload of a complete chunked body; nil while incomplete.
private func decodeChunked(_ bytes: [UInt8]) -> [UInt8]? {
    var payload: [UInt8] = []
    var index = 0
    let crlf: [UInt8] = [13, 10]
    while true {
        guard let lineEnd = bytes[index...].firstRange(of: crlf) else { return nil }
        let sizeText = String(decoding: bytes[index..<lineEnd.lowerBound], as: UTF8.self)
            .split(separator: ";").first.map(String.init) ?? ""
        guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
        index = lineEnd.upperBound
        if size == 0 { return payload }
        guard bytes.count >= index + size + 2 else { return nil }
        payload.append(contentsOf: bytes[index..<(index + size)])
        index += size + 2
    }
}
