import CRabbitMQ
import Testing
@testable import WarrenAMQP

@Suite struct TLSConfigurationTests {
    @Test func amqpsMeansTLSOnPort5671AndIsShownAsAmqps() throws {
        let url = try AMQPURL("amqps://u:SECRET@b-1234.mq.eu-west-1.amazonaws.com/")
        #expect(url.tls && url.port == 5671)
        #expect(url.redacted == "amqps://u:***@b-1234.mq.eu-west-1.amazonaws.com:5671/")
        let plain = try AMQPURL("amqp://h/")
        #expect(!plain.tls && plain.port == 5672)
    }

    @Test func defaultsVerifyAgainstTheSystemStoreWithPlainLogin() {
        let tls = TLSConfiguration()
        #expect(tls.verifyPeer && tls.caCertificateFile == nil && tls.serverName == nil && tls.authMechanism == .plain)
    }

    @Test func theURLsParametersWinOverTheConfiguration() throws {
        let base = TLSConfiguration(caCertificateFile: "/env/ca.pem", certificateFile: "/env/c.pem", keyFile: "/env/k.pem", keyPassword: "pw")
        let url = try AMQPURL(
            "amqps://h/?cacertfile=/url/ca.pem&verify=verify_none&server_name_indication=broker.example&auth_mechanism=external")
        let tls = base.applying(url.query)
        #expect(tls.caCertificateFile == "/url/ca.pem")
        #expect(tls.certificateFile == "/env/c.pem" && tls.keyFile == "/env/k.pem" && tls.keyPassword == "pw")
        #expect(!tls.verifyPeer && tls.serverName == "broker.example" && tls.authMechanism == .external)
        #expect(base.applying(AMQPURLQuery()) == base)
    }

    @Test func theConfigurationTakesTheURLsParametersPerURL() throws {
        var configuration = AMQPConnectionConfiguration(url: try AMQPURL("amqps://h/?certfile=/url/c.pem"), connectionName: "t")
        configuration.tls = TLSConfiguration(certificateFile: "/env/c.pem", keyFile: "/env/k.pem")
        #expect(configuration.effectiveTLS.certificateFile == "/url/c.pem" && configuration.effectiveTLS.keyFile == "/env/k.pem")
    }

    @Test func theDescriptionNeverShowsThePassphrase() {
        let tls = TLSConfiguration(keyFile: "/k.pem", keyPassword: "SECRET-pass")
        #expect(!tls.description.contains("SECRET") && tls.description.contains("key_password=(set)"))
        #expect(tls.description.contains("(system trust store)"))
    }

    @Test func certificateProblemsAreRefusalsNamingTheCause() {
        let mismatch = RawConnection.describeVerifyError(X509_V_ERR_HOSTNAME_MISMATCH, depth: 0, subject: "/CN=localhost", expectedName: "wrong.example")
        #expect(mismatch.contains("host name mismatch") && mismatch.contains("'wrong.example'") && mismatch.contains("/CN=localhost"))
        let unknown = RawConnection.describeVerifyError(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, depth: 1, subject: "/CN=CA", expectedName: "h")
        #expect(unknown.contains("unknown CA") && unknown.contains("WARREN_TLS_CA_FILE"))
        let expired = RawConnection.describeVerifyError(X509_V_ERR_CERT_HAS_EXPIRED, depth: 0, subject: "/CN=h", expectedName: "h")
        #expect(expired.contains("expired"))
        #expect(AMQPError.tls(reason: "x", context: "c", permanent: true).isPermanent)
        #expect(!AMQPError.tls(reason: "x", context: "c", permanent: false).isPermanent)
    }

    @Test func brokerAlertsAreExplainedAndOnlyCertificateOnesArePermanent() {
        #expect(RawConnection.explainAlert("tlsv13 alert certificate required").contains("requires a client certificate"))
        #expect(RawConnection.explainAlert("tlsv1 alert unknown ca").contains("rejected the client certificate"))
        #expect(RawConnection.isPermanentAlert("tlsv13 alert certificate required"))
        #expect(RawConnection.isPermanentAlert("wrong version number"))
        #expect(!RawConnection.isPermanentAlert("unexpected eof while reading"))
        #expect(!RawConnection.isPermanentAlert(""))
    }
}
