/// The query parameters of an AMQP URL (`amqp://h/?heartbeat=10&connection_timeout=5000`),
/// following the RabbitMQ URI query parameter convention every RabbitMQ client documents.
///
/// Applied today (both schemes): `heartbeat` (seconds), `connection_timeout` (milliseconds,
/// rounded up to whole seconds) and `channel_max`; each wins over the connection
/// configuration's value for the URL it is written in.
///
/// For `amqps://` only (applied through `TLSConfiguration.applying(_:)`, winning over the
/// connection's TLS settings): `cacertfile`, `certfile`, `keyfile`, `verify` (`verify_peer` |
/// `verify_none`), `server_name_indication`, and `auth_mechanism` (`plain` | `external`;
/// `external` needs TLS).
///
/// An unknown, repeated or empty parameter is an error naming the parameter. Error texts never
/// quote a value: a mistyped URL can put the password anywhere.
public struct AMQPURLQuery: Sendable, Equatable {
    /// The `verify` parameter: whether the broker's certificate is checked.
    public enum Verify: String, Sendable, Equatable, CaseIterable {
        /// Check the chain and the host name (the default).
        case verifyPeer = "verify_peer"
        /// Encrypt but trust whoever answers.
        case verifyNone = "verify_none"
    }

    /// The `auth_mechanism` parameter: how the client logs in.
    public enum AuthMechanism: String, Sendable, Equatable, CaseIterable {
        /// SASL PLAIN: the URL's user and password.
        case plain
        /// SASL EXTERNAL: the broker maps the client certificate to a user (TLS only).
        case external
    }

    /// Requested heartbeat in seconds; 0 disables.
    public var heartbeat: Int?
    /// Bound on the TCP connect, the login handshake and each RPC.
    public var connectionTimeout: Duration?
    /// Highest channel number to negotiate; 0 means the broker's limit.
    public var channelMax: Int?
    /// `cacertfile`: PEM file of the CAs to trust instead of the system's.
    public var caCertFile: String?
    /// `certfile`: PEM client certificate for mutual TLS.
    public var certFile: String?
    /// `keyfile`: PEM private key of the client certificate.
    public var keyFile: String?
    /// `verify`: whether the broker's certificate is checked.
    public var verify: Verify?
    /// `server_name_indication`: the name sent as SNI and required in the broker's certificate.
    public var serverNameIndication: String?
    /// `auth_mechanism`: how the client logs in.
    public var authMechanism: AuthMechanism?

    /// Every parameter name this type understands.
    public static let knownNames = [
        "heartbeat", "connection_timeout", "channel_max", "cacertfile", "certfile", "keyfile", "verify",
        "server_name_indication", "auth_mechanism",
    ]
    /// The names that only make sense over TLS (`amqps://`).
    public static let tlsOnlyNames: Set<String> = ["cacertfile", "certfile", "keyfile", "verify", "server_name_indication"]

    /// No parameters: every setting comes from the connection configuration.
    public init() {}

    /// Parses `name=value&name=value` (without the `?`), percent-decoding names and values.
    /// - Parameters:
    ///   - text: the query, without the `?`.
    ///   - tls: whether the URL's scheme is `amqps`; TLS-only parameters are refused
    ///     without it.
    /// - Throws: an `AMQPError` with code `.invalidURL` naming the parameter (never quoting its value).
    public init(parsing text: Substring, tls: Bool) throws {
        var seen: Set<String> = []
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let equals = pair.firstIndex(of: "=")
            let rawName = equals.map { pair[..<$0] } ?? pair
            guard let name = AMQPURL.lenientlyDecoded(rawName), Self.knownNames.contains(name) else {
                throw AMQPError.invalidURL(
                    "unknown query parameter \(Self.shown(rawName)); known: \(Self.knownNames.joined(separator: ", "))")
            }
            guard seen.insert(name).inserted else { throw AMQPError.invalidURL("query parameter '\(name)' is given twice") }
            guard let equals, let value = AMQPURL.lenientlyDecoded(pair[pair.index(after: equals)...]), !value.isEmpty else {
                throw AMQPError.invalidURL("query parameter '\(name)' needs a value (\(name)=...)")
            }
            if Self.tlsOnlyNames.contains(name) && !tls {
                throw AMQPError.invalidURL("query parameter '\(name)' needs TLS: use an amqps:// URL")
            }
            try set(name, to: value, tls: tls)
        }
    }

    private mutating func set(_ name: String, to value: String, tls: Bool) throws {
        switch name {
        case "heartbeat": heartbeat = try Self.integer(name, value, in: 0...65_535)
        case "connection_timeout": connectionTimeout = .milliseconds(try Self.integer(name, value, in: 1...3_600_000))
        case "channel_max": channelMax = try Self.integer(name, value, in: 0...65_535)
        case "cacertfile": caCertFile = value
        case "certfile": certFile = value
        case "keyfile": keyFile = value
        case "server_name_indication": serverNameIndication = value
        case "verify":
            guard let choice = Verify(rawValue: value) else { throw Self.choiceError(name, Verify.allCases.map(\.rawValue)) }
            verify = choice
        case "auth_mechanism":
            guard let choice = AuthMechanism(rawValue: value.lowercased()) else {
                throw Self.choiceError(name, AuthMechanism.allCases.map(\.rawValue))
            }
            // EXTERNAL logs in with the TLS client certificate: there is none without TLS.
            if choice == .external && !tls {
                throw AMQPError.invalidURL("query parameter 'auth_mechanism=external' needs TLS: use an amqps:// URL")
            }
            authMechanism = choice
        default:
            throw AMQPError.invalidURL("unknown query parameter '\(name)'")
        }
    }

    private static func integer(_ name: String, _ value: String, in range: ClosedRange<Int>) throws -> Int {
        guard let number = Int(value), range.contains(number) else {
            throw AMQPError.invalidURL("query parameter '\(name)' must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    private static func choiceError(_ name: String, _ allowed: [String]) -> AMQPError {
        .invalidURL("query parameter '\(name)' must be one of: \(allowed.joined(separator: ", "))")
    }

    /// An unknown name as it may be shown: quoted, short, and only if it is plainly a name
    /// (letters, digits, `_`, `-`, `.`); anything else could be pasted credentials.
    private static func shown(_ raw: Substring) -> String {
        let plain = !raw.isEmpty && raw.count <= 40
            && raw.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") }
        return plain ? "'\(raw)'" : "(a name that is not shown: it is not plain letters, digits and _-.)"
    }
}
