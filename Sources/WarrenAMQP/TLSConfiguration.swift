/// TLS settings for `amqps://` URLs; ignored for `amqp://`.
///
/// Defaults are the safe ones: the broker's certificate must chain to a trusted CA **and** carry
/// the host name of the URL (or `serverName`). The trusted CAs are the system's (OpenSSL's
/// default paths: `/etc/ssl/certs` on Debian, or `SSL_CERT_FILE` / `SSL_CERT_DIR`) unless
/// `caCertificateFile` is given, which then replaces them.
///
/// Each URL's own query parameters (`cacertfile`, `certfile`, `keyfile`, `verify`,
/// `server_name_indication`, `auth_mechanism`) win over these values for that URL: see
/// `applying(_:)`. The key's passphrase has no URL parameter (URLs reach more places than
/// secrets should).
public struct TLSConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// PEM file of the CAs to trust instead of the system's.
    public var caCertificateFile: String?
    /// PEM client certificate (chain) for mutual TLS; needs `keyFile`.
    public var certificateFile: String?
    /// PEM private key of `certificateFile`.
    public var keyFile: String?
    /// Passphrase of an encrypted `keyFile`. A secret: never logged, not in `description`.
    public var keyPassword: String?
    /// Whether the broker's certificate chain and host name are verified. `false` encrypts but
    /// trusts whoever answers; Warren then logs `connection.tls_verify_disabled` at every connect.
    public var verifyPeer: Bool
    /// Name sent as SNI and required in the broker's certificate, instead of the URL's host:
    /// for connecting by IP address or through a tunnel to a broker whose certificate names it.
    public var serverName: String?
    /// How to log in: `plain` (the URL's user and password) or `external` (SASL EXTERNAL: the
    /// broker maps the client certificate to a user; the URL's password is not sent).
    public var authMechanism: AMQPURLQuery.AuthMechanism

    /// Settings with the safe defaults: the system's CAs, peer verification on, PLAIN login.
    public init(
        caCertificateFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil,
        keyPassword: String? = nil, verifyPeer: Bool = true, serverName: String? = nil,
        authMechanism: AMQPURLQuery.AuthMechanism = .plain
    ) {
        self.caCertificateFile = caCertificateFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.keyPassword = keyPassword
        self.verifyPeer = verifyPeer
        self.serverName = serverName
        self.authMechanism = authMechanism
    }

    /// These settings with `query`'s TLS parameters put over them (a URL's own settings win).
    public func applying(_ query: AMQPURLQuery) -> TLSConfiguration {
        var copy = self
        if let value = query.caCertFile { copy.caCertificateFile = value }
        if let value = query.certFile { copy.certificateFile = value }
        if let value = query.keyFile { copy.keyFile = value }
        if let value = query.verify { copy.verifyPeer = value == .verifyPeer }
        if let value = query.serverNameIndication { copy.serverName = value }
        if let value = query.authMechanism { copy.authMechanism = value }
        return copy
    }

    /// The settings for logs: file paths and choices; the passphrase only as `set`.
    public var description: String {
        var parts = ["verify=\(verifyPeer ? "verify_peer" : "verify_none")", "auth_mechanism=\(authMechanism.rawValue)"]
        parts.append("cacertfile=\(caCertificateFile ?? "(system trust store)")")
        if let certificateFile { parts.append("certfile=\(certificateFile)") }
        if let keyFile { parts.append("keyfile=\(keyFile)") }
        if keyPassword != nil { parts.append("key_password=(set)") }
        if let serverName { parts.append("server_name_indication=\(serverName)") }
        return parts.joined(separator: " ")
    }
}
