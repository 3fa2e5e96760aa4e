import Logging
import Testing
import Warren
import WarrenAMQP

@Suite struct SettingsResolverTests {
    @Test func defaultsMatchTheDocumentedTable() throws {
        let configuration = try WorkerConfiguration(resolving: SettingsResolver(flags: [:], environment: [:]))
        #expect(configuration.broker.url == (try AMQPURL("amqp://guest:guest@127.0.0.1:5672/")))
        #expect(configuration.broker.queue == "warren.jobs")
        #expect(configuration.broker.queueType == .quorum)
        #expect(configuration.prefetch == 50)
        #expect(configuration.concurrency == 8)
        #expect(configuration.handlerThread == .pool)
        #expect(configuration.consumer.handlerThread == .pool)
        #expect(configuration.logLevel == .info)
    }

    @Test func environmentIsReadAndFlagsWin() throws {
        let environment = ["WARREN_QUEUE": "from-env", "WARREN_PREFETCH": "200", "WARREN_QUEUE_TYPE": "classic",
                           "WARREN_LOG_LEVEL": "WARNING", "WARREN_CONCURRENCY": "3", "WARREN_HANDLER_THREAD": "connection"]
        let configuration = try WorkerConfiguration(resolving: SettingsResolver(flags: ["queue": "from-flag"], environment: environment))
        #expect(configuration.broker.queue == "from-flag")
        #expect(configuration.prefetch == 200)
        #expect(configuration.broker.queueType == .classic)
        #expect(configuration.logLevel == .warning)
        #expect(configuration.concurrency == 3)
        #expect(configuration.consumer.handlerThread == .connection)
    }

    @Test(arguments: [
        ([:], ["WARREN_PREFETCH": "abc"], "WARREN_PREFETCH", "integer from 1 to 65535"),
        (["prefetch": "0"], [:], "--prefetch", "integer from 1 to 65535"),
        (["prefetch": "70000"], [:], "--prefetch", "integer from 1 to 65535"),
        ([:], ["WARREN_CONCURRENCY": "-1"], "WARREN_CONCURRENCY", "integer from 1"),
        (["queue-type": "stream"], [:], "--queue-type", "one of: quorum, classic"),
        ([:], ["WARREN_HANDLER_THREAD": "main"], "WARREN_HANDLER_THREAD", "one of: pool, connection"),
        ([:], ["WARREN_LOG_LEVEL": "loud"], "WARREN_LOG_LEVEL", "one of: trace"),
        ([:], ["WARREN_QUEUE": ""], "WARREN_QUEUE", "must not be empty"),
        (["queue": "amq.mine"], [:], "--queue", "reserved"),
        ([:], ["WARREN_AMQP_URL": "http://x/"], "WARREN_AMQP_URL", "unsupported scheme"),
        ([:], ["WARREN_HANDLER_TIMEOUT": "soon"], "WARREN_HANDLER_TIMEOUT", "duration"),
        // Found by fuzz/SettingsFuzz.swift: durations past Int64 milliseconds trapped.
        ([:], ["WARREN_HEARTBEAT": "99999999999999999999h"], "WARREN_HEARTBEAT", "duration"),
        (["retry-delays": "1s,11111111111111111111111111m"], [:], "--retry-delays", "comma-separated durations"),
    ] as [([String: String], [String: String], String, String)])
    func invalidValuesNameTheirKey(flags: [String: String], environment: [String: String], key: String, problem: String) {
        #expect {
            try WorkerConfiguration(resolving: SettingsResolver(flags: flags, environment: environment))
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.key == key && error.problem.contains(problem) && "\(error)".hasPrefix("invalid \(key)=")
        }
    }

    @Test func handlerTimeoutIsOffUnlessSetAndReachesTheConsumerConfiguration() throws {
        let off = try WorkerConfiguration.fromEnvironment([:])
        #expect(off.handlerTimeout == nil)
        #expect(try WorkerConfiguration.fromEnvironment(["WARREN_HANDLER_TIMEOUT": "0"]).handlerTimeout == nil)
        let set = try WorkerConfiguration.fromEnvironment(["WARREN_HANDLER_TIMEOUT": "1.5s", "WARREN_QUEUE": "orders", "WARREN_PREFETCH": "7"])
        #expect(set.handlerTimeout == .milliseconds(1500))
        let consumer = set.consumer
        #expect(consumer.queue == "orders" && consumer.prefetch == 7 && consumer.handlerTimeout == .milliseconds(1500))
        #expect(set.connection(named: "me").connectionName == "me")
        #expect(set.connection(named: "me").url == set.broker.url)
    }

    @Test func programDefaultsApplyOnlyWhereTheEnvironmentIsSilentAndAreValidated() throws {
        let defaulted = try WorkerConfiguration.fromEnvironment([:], defaults: ["queue": "orders", "prefetch": "5"])
        #expect(defaulted.broker.queue == "orders" && defaulted.prefetch == 5)
        let overridden = try WorkerConfiguration.fromEnvironment(["WARREN_QUEUE": "mine"], defaults: ["queue": "orders"])
        #expect(overridden.broker.queue == "mine")
        #expect(throws: ConfigurationError.self) { try WorkerConfiguration.fromEnvironment([:], defaults: ["prefetch": "0"]) }
    }

    @Test func aBadURLErrorNeverEchoesThePassword() {
        #expect {
            try BrokerConfiguration(resolving: SettingsResolver(flags: ["amqp-url": "amqp://u:topsecret@h:badport/"], environment: [:]))
        } throws: { error in
            !"\(error)".contains("topsecret") && "\(error)".contains("--amqp-url")
        }
    }

    @Test func topologyDerivesTheDeadLetterNames() {
        let topology = Topology(queue: "jobs", queueType: .quorum)
        #expect(topology.deadLetterExchange == "jobs.dlx")
        #expect(topology.deadLetterQueue == "jobs.dead")
        #expect(topology.queueArguments == [
            "x-queue-type": "quorum", "x-dead-letter-exchange": "jobs.dlx", "x-delivery-limit": 20,
            "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish",
        ])
    }
}
