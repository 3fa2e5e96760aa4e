/// Where an `http://host[:port][/path][?query]` URL points, for `HTTPProbe`.
///
/// The host may be a name, an IPv4 address or a bracketed IPv6 address (`http://[::1]:8080/`);
/// the port defaults to 80 and the path to `/`. A fragment is dropped. User info and other
/// schemes (`https://` included) are rejected.
public struct HTTPProbeTarget: Sendable, Equatable {
    /// Without brackets for IPv6.
    public var host: String
    /// The TCP port; 80 when the URL names none.
    public var port: Int
    /// Starts with `/`; includes the query.
    public var path: String

    /// A target given in parts; `host` without brackets, `path` starting with `/`.
    public init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    /// Parses an `http://host[:port][/path]` URL (IPv6 hosts in brackets). Throws
    /// `HTTPProbeError.invalidURL` for any other scheme or a malformed URL.
    public init(url: String) throws(HTTPProbeError) {
        func invalid(_ problem: String) -> HTTPProbeError { .invalidURL(url, problem: problem) }
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw invalid("expected http://host[:port]/path")
        }
        guard url[..<schemeEnd.lowerBound].lowercased() == "http" else {
            throw invalid("only http:// is supported")
        }
        var rest = url[schemeEnd.upperBound...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let pathPart = rest[authorityEnd...]
        path = pathPart.isEmpty ? "/" : pathPart.first == "?" ? "/" + pathPart : String(pathPart)
        guard !authority.contains("@") else { throw invalid("user info is not supported") }

        let portText: Substring?
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else { throw invalid("unclosed '[' in the host") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            guard after.isEmpty || after.first == ":" else { throw invalid("unexpected text after ']'") }
            portText = after.isEmpty ? nil : after.dropFirst()
        } else if let colon = authority.firstIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = String(authority)
            portText = nil
        }
        guard !host.isEmpty else { throw invalid("no host") }
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else {
                throw invalid("the port must be an integer from 1 to 65535")
            }
            port = number
        } else {
            port = 80
        }
    }

    /// `host:port`, with brackets around an IPv6 host: the `Host` header and error messages.
    public var address: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
