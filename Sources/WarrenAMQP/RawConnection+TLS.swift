import CRabbitMQ

/// Opening `amqps://` sockets (see `TLSConfiguration` and `Sources/CRabbitMQ/tls_shim.h`).
///
/// - Important: Owner thread only, like all of `RawConnection`: the handshake blocks (bounded
///   by the connect timeout) and OpenSSL's error queue read here is the calling thread's.
extension RawConnection {
    /// Creates librabbitmq's SSL socket on `state`, configures verification, trust store, SNI
    /// and the client key, then connects and completes the TLS handshake, all within
    /// `timeoutSeconds`. `handshake` receives what the verify callback saw; it must outlive
    /// the connection state. Throws an `AMQPError` with code `.tls` naming the cause.
    static func openTLS(
        _ state: amqp_connection_state_t, url: AMQPURL, tls: TLSConfiguration, timeoutSeconds: Int,
        handshake: UnsafeMutablePointer<warren_tls_state>
    ) throws {
        let context = "TLS to \(url.host):\(url.port)"
        guard let socket = amqp_ssl_socket_new(state) else {
            throw AMQPError.tls(reason: "cannot create a TLS socket: \(takeOpenSSLError())", context: context, permanent: false)
        }
        let expectedName = tls.serverName ?? url.host
        if let serverName = tls.serverName {
            withUnsafeMutableBytes(of: &handshake.pointee.server_name) { buffer in
                let bytes = Array(serverName.utf8.prefix(buffer.count - 1)) + [0]
                buffer.copyBytes(from: bytes)
            }
        }
        let configured = warren_tls_configure(socket, handshake, tls.verifyPeer ? 1 : 0, tls.caCertificateFile, expectedName)
        switch configured {
        case 0: break
        case -1:
            throw AMQPError.tls(
                reason: "cannot load the CA file '\(tls.caCertificateFile ?? "")' (cacertfile / WARREN_TLS_CA_FILE): \(takeOpenSSLError())",
                context: context, permanent: true)
        case -2:
            throw AMQPError.tls(reason: "cannot load the system trust store: \(takeOpenSSLError())", context: context, permanent: true)
        default:
            throw AMQPError.tls(reason: "cannot check the broker's name '\(expectedName)': \(takeOpenSSLError())", context: context, permanent: true)
        }
        try useClientKey(socket, tls, context: context)

        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        let status = amqp_socket_open_noblock(socket, url.host, Int32(url.port), &timeout)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw handshakeFailure(status, handshake.pointee, expectedName: expectedName, timeoutSeconds: timeoutSeconds, context: context)
        }
    }

    private static func useClientKey(_ socket: OpaquePointer, _ tls: TLSConfiguration, context: String) throws {
        switch (tls.certificateFile, tls.keyFile) {
        case (nil, nil):
            return
        case (let cert?, let key?):
            let status = withOptionalCString(tls.keyPassword) { warren_tls_use_key(socket, cert, key, $0) }
            guard status == AMQP_STATUS_OK.rawValue else {
                var reason = takeOpenSSLError()
                if tls.keyPassword == nil {
                    reason += " (if the key is encrypted, set WARREN_TLS_KEY_PASSWORD or WARREN_TLS_KEY_PASSWORD_FILE)"
                } else if reason.contains("bad decrypt") {
                    reason += " (wrong key passphrase?)"
                }
                throw AMQPError.tls(
                    reason: "cannot load the client certificate '\(cert)' and key '\(key)': \(reason)", context: context, permanent: true)
            }
        case (nil, _?):
            throw AMQPError.tls(reason: "a key file without a certificate file (certfile / WARREN_TLS_CERT_FILE)", context: context, permanent: true)
        case (_?, nil):
            throw AMQPError.tls(reason: "a certificate file without its key file (keyfile / WARREN_TLS_KEY_FILE)", context: context, permanent: true)
        }
    }

    /// What a failed `amqp_socket_open_noblock` means: a certificate the verify callback
    /// rejected, an alert from the broker, or a TCP-level failure (transient).
    private static func handshakeFailure(
        _ status: Int32, _ handshake: warren_tls_state, expectedName: String, timeoutSeconds: Int, context: String
    ) -> AMQPError {
        if handshake.verify_error != 0 {
            let subject = withUnsafeBytes(of: handshake.subject) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            return .tls(
                reason: describeVerifyError(handshake.verify_error, depth: handshake.verify_depth, subject: subject, expectedName: expectedName),
                context: context, permanent: true)
        }
        let reason = takeOpenSSLError()
        if !reason.isEmpty, status == AMQP_STATUS_SSL_CONNECTION_FAILED.rawValue || status == AMQP_STATUS_SSL_ERROR.rawValue {
            return .tls(reason: "handshake failed: \(explainAlert(reason))", context: context, permanent: isPermanentAlert(reason))
        }
        if status == AMQP_STATUS_TIMEOUT.rawValue {
            return .library(status: status, message: "TCP connect or TLS handshake timed out after \(timeoutSeconds) s", context: context)
        }
        return AMQPError(status: status, context: context)
    }

    /// The verify callback's error, worded for an operator.
    static func describeVerifyError(_ error: Int32, depth: Int32, subject: String, expectedName: String) -> String {
        let text = String(cString: warren_tls_verify_error_string(error))
        let which = depth == 0 ? "the broker's certificate" : "a CA certificate of the broker's chain (depth \(depth))"
        let cause: String
        switch error {
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
            cause = "host name mismatch: \(which) does not name '\(expectedName)' "
                + "(connect by a name it carries, or set server_name_indication=NAME)"
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
             X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
             X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            cause = "unknown CA: \(which) is not signed by a trusted CA "
                + "(give the broker's CA with cacertfile= or WARREN_TLS_CA_FILE)"
        case X509_V_ERR_CERT_HAS_EXPIRED:
            cause = "expired: \(which) has expired"
        case X509_V_ERR_CERT_NOT_YET_VALID:
            cause = "not yet valid: \(which) is not valid yet (check the clock)"
        default:
            cause = "\(which) was rejected"
        }
        return "certificate verify failed, \(cause): \(text) [subject \(subject.isEmpty ? "unknown" : subject)]"
    }

    /// An alert from the broker, with the fix when it is a known one.
    static func explainAlert(_ reason: String) -> String {
        if reason.contains("certificate required") {
            return "the broker requires a client certificate (certfile= and keyfile=, or WARREN_TLS_CERT_FILE "
                + "and WARREN_TLS_KEY_FILE): \(reason)"
        }
        if reason.contains("unknown ca") || reason.contains("bad certificate") || reason.contains("certificate unknown")
            || reason.contains("certificate expired") || reason.contains("certificate revoked") {
            return "the broker rejected the client certificate: \(reason)"
        }
        if reason.contains("wrong version number") || reason.contains("packet length too long") {
            return "\(reason) (is this port the broker's TLS listener? amqps:// defaults to 5671)"
        }
        return reason
    }

    /// An alert or local refusal that a retry cannot fix (certificates, protocol versions);
    /// EOFs and resets are transient (a broker restarting mid-handshake).
    static func isPermanentAlert(_ reason: String) -> Bool {
        reason.contains("alert") || reason.contains("certificate") || reason.contains("wrong version number")
            || reason.contains("unknown ca") || reason.contains("no protocols available")
    }

    /// A login that failed on a TLS connection: with TLS 1.3 the broker checks the client
    /// certificate after the client's handshake finished, so its refusal (an alert) surfaces at
    /// the first read, inside the login. `nil` when OpenSSL recorded nothing.
    static func tlsLoginFailure(context: String) -> AMQPError? {
        let reason = takeOpenSSLError()
        guard !reason.isEmpty else { return nil }
        return .tls(reason: "the broker ended the TLS session: \(explainAlert(reason))", context: context, permanent: isPermanentAlert(reason))
    }

    /// The oldest error in this thread's OpenSSL error queue (the queue is emptied).
    static func takeOpenSSLError() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        warren_tls_take_error(&buffer, buffer.count)
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

private func withOptionalCString<T>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
}
