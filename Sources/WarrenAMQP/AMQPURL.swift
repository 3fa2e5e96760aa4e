/// A parsed `amqp://user:password@host:port/vhost` URL.
///
/// Differs from librabbitmq's strict `amqp_parse_url` on one point: an empty vhost path
/// (`amqp://host:5672/` or no path at all) means the default vhost `/`, as in pika and most
/// clients, because that is how people write it. `%2f` also means `/`.
public struct AMQPURL: Sendable, Equatable, CustomStringConvertible {
    public var user: String
    public var password: String
    public var host: String
    public var port: Int
    public var vhost: String

    /// Parses and validates a URL; throws `AMQPError.invalidURL` with the reason, which never
    /// quotes the URL (a mistyped one can put the password where the port should be).
    public init(_ string: String) throws {
        let parts = string.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw AMQPError.invalidURL("missing scheme; expected amqp://user:password@host:port/vhost")
        }
        let scheme = parts[0].lowercased()
        guard scheme == "amqp" else {
            if scheme == "amqps" { throw AMQPError.invalidURL("amqps (TLS) is not supported yet; use amqp://") }
            throw AMQPError.invalidURL("unsupported scheme '\(scheme)'; expected amqp")
        }
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
        host = hostPart.isEmpty ? "localhost" : String(hostPart)
        if let portPart {
            guard let p = Int(portPart), (1...65535).contains(p) else {
                throw AMQPError.invalidURL("the port is not a number from 1 to 65535")
            }
            port = p
        } else {
            port = 5672
        }
        if path.contains("?") { path = path[..<path.firstIndex(of: "?")!] }
        let decodedVhost = try Self.percentDecoded(path, part: "vhost")
        vhost = decodedVhost.isEmpty ? "/" : decodedVhost
    }

    /// The URL with the password replaced by `***`: the only form that may reach logs.
    public var redacted: String {
        let hostText = host.contains(":") ? "[\(host)]" : host
        let vhostText = vhost == "/" ? "" : Self.percentEncoded(vhost)
        return "amqp://\(Self.percentEncoded(user)):***@\(hostText):\(port)/\(vhostText)"
    }

    public var description: String { redacted }

    /// Replaces the password in any text that may contain this URL's password, for error messages
    /// that echo user input.
    public static func redact(_ text: String) -> String {
        guard let url = try? AMQPURL(text) else { return text.contains("@") ? "<unparseable AMQP URL, redacted>" : text }
        return url.redacted
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
