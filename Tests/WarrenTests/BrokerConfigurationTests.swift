import Testing
import WarrenAMQP
@testable import Warren

@Suite struct BrokerConfigurationTests {
    private func broker(_ environment: [String: String]) throws -> BrokerConfiguration {
        try BrokerConfiguration(resolving: SettingsResolver(flags: [:], environment: environment))
    }

    @Test func aURLListGivesOneURLPerNodeAndConnectionsUseTheFirst() throws {
        let broker = try broker(["WARREN_AMQP_URL": "amqp://u:one@h1/,amqp://u:two@h2:5673/"])
        #expect(broker.urls.urls.map(\.host) == ["h1", "h2"])
        #expect(broker.url.host == "h1" && broker.url.password == "one")
        #expect(broker.shuffle)
        let settings = WorkerConfiguration(broker: broker)
        #expect(settings.connection(named: "n").url == broker.url)
        #expect(settings.loggedSettings["amqp-url"] == "amqp://u:***@h1:5672/,amqp://u:***@h2:5673/")
    }

    @Test func thePasswordSettingAppliesToEveryNode() throws {
        let broker = try broker(["WARREN_AMQP_URL": "amqp://u@h1/,amqp://u@h2/", "WARREN_AMQP_PASSWORD": "pw"])
        #expect(broker.urls.urls.map(\.password) == ["pw", "pw"])
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
