import Testing
@testable import WarrenAMQP

@Suite struct AMQPURLQueryTests {
    @Test func theConnectionParametersAreParsed() throws {
        let url = try AMQPURL("amqp://u:p@h/v?heartbeat=7&connection_timeout=2500&channel_max=16&auth_mechanism=PLAIN")
        #expect(url.vhost == "v" && url.password == "p")
        #expect(url.query.heartbeat == 7)
        #expect(url.query.connectionTimeout == .milliseconds(2500))
        #expect(url.query.channelMax == 16)
        #expect(url.query.authMechanism == .plain)
        #expect(try AMQPURL("amqp://h?heartbeat=0").query.heartbeat == 0, "a query right after the host")
        #expect(try AMQPURL("amqp://u:p?x@h/").password == "p?x", "a '?' in the password is the password's")
        #expect(try AMQPURL("amqp://h/").query == AMQPURLQuery())
    }

    /// They are applied: each wins over the configuration's value, for its URL.
    @Test func theConnectionParametersWinOverTheConfiguration() throws {
        var configuration = AMQPConnectionConfiguration(url: try AMQPURL("amqp://h/"), connectionName: "t", heartbeatSeconds: 30, connectTimeoutSeconds: 10)
        #expect(configuration.effectiveHeartbeatSeconds == 30)
        #expect(configuration.effectiveConnectTimeoutSeconds == 10)
        #expect(configuration.effectiveChannelMax == 0)
        configuration.url = try AMQPURL("amqp://h/?heartbeat=7&connection_timeout=2001&channel_max=16")
        #expect(configuration.effectiveHeartbeatSeconds == 7)
        #expect(configuration.effectiveConnectTimeoutSeconds == 3, "milliseconds rounded up to whole seconds")
        #expect(configuration.effectiveChannelMax == 16)
        configuration.url = try AMQPURL("amqp://h/?connection_timeout=1")
        #expect(configuration.effectiveConnectTimeoutSeconds == 1)
    }

    @Test func theTLSParametersAreParsedForAmqps() throws {
        let query = try AMQPURLQuery(
            parsing: "cacertfile=%2Fetc%2Fca.pem&certfile=/c.pem&keyfile=/k.pem&verify=verify_none&server_name_indication=mq.example&auth_mechanism=external",
            tls: true)
        #expect(query.caCertFile == "/etc/ca.pem" && query.certFile == "/c.pem" && query.keyFile == "/k.pem")
        #expect(query.verify == .verifyNone && query.serverNameIndication == "mq.example" && query.authMechanism == .external)
    }

    @Test(arguments: [
        ("amqp://u:SECRET@h/?bogus_option=1", "unknown query parameter 'bogus_option'"),
        ("amqp://u:SECRET@h/?heartbeat=5&Heartbeat=6", "unknown query parameter 'Heartbeat'"),
        ("amqp://u:SECRET@h/?SECRET%2F=1", "unknown query parameter (a name that is not shown"),
        ("amqp://u:SECRET@h/?heartbeat=1&heartbeat=2", "'heartbeat' is given twice"),
        ("amqp://u:SECRET@h/?heartbeat", "'heartbeat' needs a value"),
        ("amqp://u:SECRET@h/?heartbeat=SECRET", "'heartbeat' must be an integer from 0 to 65535"),
        ("amqp://u:SECRET@h/?heartbeat=70000", "'heartbeat' must be an integer"),
        ("amqp://u:SECRET@h/?connection_timeout=0", "'connection_timeout' must be an integer from 1"),
        ("amqp://u:SECRET@h/?channel_max=-1", "'channel_max' must be an integer"),
        ("amqp://u:SECRET@h/?cacertfile=/ca.pem", "'cacertfile' needs TLS: use an amqps:// URL"),
        ("amqp://u:SECRET@h/?certfile=/c", "'certfile' needs TLS"),
        ("amqp://u:SECRET@h/?keyfile=/k", "'keyfile' needs TLS"),
        ("amqp://u:SECRET@h/?verify=verify_peer", "'verify' needs TLS"),
        ("amqp://u:SECRET@h/?server_name_indication=x", "'server_name_indication' needs TLS"),
        ("amqp://u:SECRET@h/?auth_mechanism=external", "'auth_mechanism=external' needs TLS"),
        ("amqp://u:SECRET@h/?auth_mechanism=SECRET", "'auth_mechanism' must be one of: plain, external"),
        ("amqps://u:SECRET@h/?verify=SECRET", "'verify' must be one of: verify_peer, verify_none"),
        ("amqps://u:SECRET@h/?bogus=1", "unknown query parameter 'bogus'"),
    ])
    func aBadParameterIsNamedWithoutItsValueOrThePassword(text: String, reason: String) {
        #expect {
            try AMQPURL(text)
        } throws: { error in
            "\(error)".contains(reason) && !"\(error)".contains("SECRET")
        }
    }
}
