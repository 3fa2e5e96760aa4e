import Testing
import WarrenAMQP
@testable import Warren

@Suite struct BrokerConfigurationTests {
    private func broker(_ environment: [String: String]) throws -> BrokerConfiguration {
        try BrokerConfiguration(resolving: SettingsResolver(flags: [:], environment: environment))
    }

    /// Connections get the whole list and the shuffle setting (issue 15: they used to get only
    /// the first URL).
    @Test func aURLListGivesOneURLPerNodeAndConnectionsGetThemAll() throws {
        let broker = try broker(["WARREN_AMQP_URL": "amqp://u:one@h1/,amqp://u:two@h2:5673/"])
        #expect(broker.urls.urls.map(\.host) == ["h1", "h2"])
        #expect(broker.url.host == "h1" && broker.url.password == "one")
        #expect(broker.shuffle)
        let settings = WorkerConfiguration(broker: broker)
        #expect(settings.connection(named: "n").urls == broker.urls)
        #expect(settings.connection(named: "n").shuffle)
        #expect(settings.loggedSettings["amqp-url"] == "amqp://u:***@h1:5672/,amqp://u:***@h2:5673/")
    }

    @Test func thePasswordSettingAppliesToEveryNode() throws {
        let broker = try broker(["WARREN_AMQP_URL": "amqp://u@h1/,amqp://u@h2/", "WARREN_AMQP_PASSWORD": "pw"])
        #expect(broker.urls.urls.map(\.password) == ["pw", "pw"])
    }

    /// One order per process: every connection of the process tries the nodes in the same
    /// order; `shuffle: false` keeps the given one.
    @Test func theProcessOrderIsTheSameForEveryConnection() throws {
        let urls = try AMQPURLList("amqp://h1/,amqp://h2/,amqp://h3/,amqp://h4/,amqp://h5/")
        let shuffled = ConnectionConfiguration(urls: urls, connectionName: "a")
        #expect(shuffled.orderedURLs == ConnectionConfiguration(urls: urls, connectionName: "b").orderedURLs)
        #expect(Set(shuffled.orderedURLs.map(\.host)) == Set(urls.urls.map(\.host)))
        let given = ConnectionConfiguration(urls: urls, shuffle: false, connectionName: "a")
        #expect(given.orderedURLs == urls.urls)
        // The single-URL initializer still works, and `url` is the list's first.
        let single = ConnectionConfiguration(url: AMQPURL(host: "only"), connectionName: "s")
        #expect(single.urls.urls == [AMQPURL(host: "only")] && single.url.host == "only")
    }

    @Test func shuffleIsOnUnlessSetToFalse() throws {
        #expect(try broker(["WARREN_AMQP_SHUFFLE": "false"]).shuffle == false)
        #expect(try broker(["WARREN_AMQP_SHUFFLE": "TRUE"]).shuffle == true)
        #expect { try broker(["WARREN_AMQP_SHUFFLE": "sometimes"]) } throws: { error in
            "\(error)".contains("WARREN_AMQP_SHUFFLE") && "\(error)".contains("true or false")
        }
    }

    /// The configuration error for a bad list shows it redacted: no password of any entry.
    @Test(arguments: [
        "amqp://u:SECRET1@h1/,amqp://u:SECRET2@h2:bad/",
        "amqp://u:SECRET1@h1/?bogus=1,amqp://u:SECRET2@h2/",
        "amqp://u:SECRET1@h1/,amqp://u:SECRET2@h2/?cacertfile=/ca",
    ])
    func aBadListIsShownRedacted(text: String) {
        #expect { try broker(["WARREN_AMQP_URL": text]) } throws: { error in
            "\(error)".contains("WARREN_AMQP_URL") && !"\(error)".contains("SECRET")
        }
    }
}
