/// A parsed `amqp://user:password@host:port/vhost` URL.
///
/// Differs from librabbitmq's strict `amqp_parse_url` on one point: an empty vhost path
/// (`amqp://host:5672/` or no path at all) means the default vhost `/`, as in pika and most
/// clients, because that is how people write it. `%2f` also means `/`.
///
/// Query parameters (`?heartbeat=10`) are parsed into `query` (see `AMQPURLQuery`); an unknown
/// one is an error. `amqps://` means TLS (default port 5671; see `TLSConfiguration`). A vhost holding `://` is refused: it is a list of URLs joined wrongly (see
/// `AMQPURLList`), and it would carry the next URL's password into log lines.
public struct AMQPURL: Sendable, Equatable, CustomStringConvertible {
    /// The user, percent-decoded; `guest` when the URL names none.
    public var user: String
    /// The password, percent-decoded; `guest` when the URL names none. A secret: `description`
    /// and `redacted` never show it.
    public var password: String
    /// The host name or address, IPv6 without brackets.
    public var host: String
    /// The TCP port; 5672 (`amqp`) or 5671 (`amqps`) when the URL names none.
    public var port: Int
    /// The virtual host, percent-decoded; `/` when the path is empty.
    public var vhost: String
    /// Whether the scheme is `amqps` (TLS).
    public var tls: Bool
    /// The URL's query parameters; empty when it has none.
    public var query: AMQPURLQuery

    /// Parses and validates a URL; throws an `AMQPError` with code `.invalidURL` with the reason, which never
    /// quotes the URL (a mistyped one can put the password where the port should be).
    public init(_ string: String) throws {
        let parts = string.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw AMQPError.invalidURL("missing scheme; expected amqp://user:password@host:port/vhost")
        }
        let scheme = parts[0].lowercased()
        guard scheme == "amqp" || scheme == "amqps" else {
            // The scheme is quoted only when it is plainly one: `u:p@h` without `://` is not.
            let shown = scheme.count <= 10 && scheme.allSatisfy(\.isLetter) ? "'\(scheme)'" : "(not shown)"
            throw AMQPError.invalidURL("unsupported scheme \(shown); expected amqp or amqps")
        }
        let tls = scheme == "amqps"
        self.tls = tls
        var rest = parts[1]
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        // A "/" in the user or password (base64 passwords have them) would put the rest of the
        // credentials into the port or the vhost, where error messages and `redacted` show them.
        // The reason must not quote the URL.
        guard !path.contains("@") else {
            throw AMQPError.invalidURL(
                "'@' after the host: write '/' in the user or password as %2F (and '@' in the vhost as %40)")
        }
        var userInfo: Substring?
        if let at = rest.lastIndex(of: "@") {
            userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
        }
        // Without a path, the query follows the host (`amqp://h?heartbeat=5`). It is looked for
        // only after the last '@', so a '?' in the password stays in the password.
        var queryText: Substring = ""
        if let question = path.firstIndex(of: "?") {
            queryText = path[path.index(after: question)...]
            path = path[..<question]
        } else if let question = rest.firstIndex(of: "?") {
            queryText = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }
        user = "guest"
        password = "guest"
        if let userInfo {
            if let colon = userInfo.firstIndex(of: ":") {
                user = try Self.percentDecoded(userInfo[..<colon], part: "user")
                password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], part: "password")
            } else {
                user = try Self.percentDecoded(userInfo, part: "user")
            }
        }
        var hostPart = rest
        var portPart: Substring?
        if hostPart.hasPrefix("[") {
            guard let close = hostPart.firstIndex(of: "]") else { throw AMQPError.invalidURL("unterminated IPv6 address") }
            let after = hostPart[hostPart.index(after: close)...]
            if after.hasPrefix(":") { portPart = after.dropFirst() } else if !after.isEmpty {
                throw AMQPError.invalidURL("unexpected text after the IPv6 address")
            }
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
        } else if let colon = hostPart.lastIndex(of: ":") {
            portPart = hostPart[hostPart.index(after: colon)...]
            hostPart = hostPart[..<colon]
        }
        // `redacted` brackets a host with a colon; a bracket inside the host would not parse back.
        guard !hostPart.contains(where: { $0 == "[" || $0 == "]" }) else {
            throw AMQPError.invalidURL("a bracket in the host; only an IPv6 address is bracketed, as in amqp://[::1]:5672/")
        }
        // With a path, the query is taken from the path, so a '?' before it stays in the host,
        // where `redacted` would show it as the start of a query (found by the fuzz target).
        guard !hostPart.contains("?") else {
            throw AMQPError.invalidURL("a '?' in the host; the query goes after the vhost, as in amqp://host/vhost?heartbeat=10")
        }
        host = hostPart.isEmpty ? "localhost" : String(hostPart)
        if let portPart {
            guard let p = Int(portPart), (1...65535).contains(p) else {
                throw AMQPError.invalidURL("the port is not a number from 1 to 65535")
            }
            port = p
        } else {
            port = tls ? 5671 : 5672
        }
        let decodedVhost = try Self.percentDecoded(path, part: "vhost")
        guard !decodedVhost.contains("://") else {
            throw AMQPError.invalidURL("the vhost holds '://', as if several URLs were joined: separate amqp:// URLs with commas")
        }
        vhost = decodedVhost.isEmpty ? "/" : decodedVhost
        query = try AMQPURLQuery(parsing: queryText, tls: tls)
    }

    /// The URL with these parts and no query parameters; `tls` means `amqps` (give its port).
    public init(user: String = "guest", password: String = "guest", host: String, port: Int = 5672, vhost: String = "/", tls: Bool = false) {
        self.tls = tls
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.vhost = vhost
        query = AMQPURLQuery()
    }

    /// The URL with the password replaced by `***`: the only form that may reach logs.
    public var redacted: String {
        let hostText = host.contains(":") ? "[\(host)]" : host
        let vhostText = vhost == "/" ? "" : Self.percentEncoded(vhost)
        return "\(tls ? "amqps" : "amqp")://\(Self.percentEncoded(user)):***@\(hostText):\(port)/\(vhostText)"
    }

    /// `redacted`: the password never reaches logs through string interpolation.
    public var description: String { redacted }

    /// One URL's text as it may be shown in an error message that echoes user input: a URL that
    /// parses appears as `redacted`; one that does not is replaced whole (keeping only a plain
    /// scheme) unless it is plainly a host or path: letters, digits and `.-_/` only. Anything
    /// else (an '@', a ':', a '%' encoding, a query) may hold a password. For a comma-separated
    /// list, use `AMQPURLList.redact`.
    public static func redact(_ text: String) -> String {
        if let url = try? AMQPURL(text) { return url.redacted }
        let parts = text.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        let afterScheme = parts.count == 2 ? parts[1] : parts[0]
        // Both sides of "://": what precedes it may be credentials too (`u:p@h://`).
        let plainScheme = parts.count == 1 || parts[0].allSatisfy { $0.isASCII && $0.isLetter }
        let plain = plainScheme && afterScheme.allSatisfy {
            $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" || $0 == "/")
        }
        guard !plain else { return text }
        let scheme = parts.count == 2 && ["amqp", "amqps"].contains(parts[0].lowercased()) ? "\(parts[0])://" : ""
        return "\(scheme)<unparseable URL, redacted>"
    }

    /// `text` percent-decoded, or `nil` if its encoding or UTF-8 is bad.
    public static func lenientlyDecoded(_ text: Substring) -> String? {
        try? percentDecoded(text, part: "text")
    }

    private static func percentDecoded(_ text: Substring, part: String) throws -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    throw AMQPError.invalidURL("bad percent-encoding in the \(part)")
                }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw AMQPError.invalidURL("the \(part) is not valid UTF-8")
        }
        return decoded
    }

    private static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
