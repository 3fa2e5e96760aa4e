import WarrenAMQP

extension SettingsResolver {
    /// TLS settings for `amqps://` URLs, from `tls-ca-file`, `tls-cert-file`, `tls-key-file`
    /// (flags `--tls-ca-file`… or `WARREN_TLS_CA_FILE`…) and the secret `tls-key-password`
    /// (`WARREN_TLS_KEY_PASSWORD` or `WARREN_TLS_KEY_PASSWORD_FILE`, never a flag's value in
    /// `ps`; both set is an error). A URL's own query parameters win over these for that URL.
    /// Files are only read when connecting: a missing one is a TLS error then, naming it.
    public func tls() throws -> TLSConfiguration {
        var tls = TLSConfiguration()
        tls.caCertificateFile = try optionalPath("tls-ca-file")
        tls.certificateFile = try optionalPath("tls-cert-file")
        tls.keyFile = try optionalPath("tls-key-file")
        tls.keyPassword = try secret("tls-key-password")?.value
        return tls
    }

    private func optionalPath(_ flag: String) throws -> String? {
        guard try raw(flag) != nil else { return nil }
        return try string(flag, default: "")
    }
}
