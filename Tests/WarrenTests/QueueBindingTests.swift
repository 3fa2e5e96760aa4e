import Testing
import WarrenAMQP
@testable import Warren

/// `QueueBinding.parseList` (`--bind`, `WARREN_BIND`) and its settings.
@Suite struct QueueBindingTests {
    @Test func entriesSplitOnCommasThenOnTheFirstEqualsSign() throws {
        let bindings = try QueueBinding.parseList(" orders=order.*.created , orders=order.#,amq.fanout=", exchangeType: .direct).get()
        #expect(bindings == [
            QueueBinding(exchange: "orders", bindingKey: "order.*.created", exchangeType: .direct),
            QueueBinding(exchange: "orders", bindingKey: "order.#", exchangeType: .direct),
            QueueBinding(exchange: "amq.fanout", bindingKey: "", exchangeType: .direct),
        ])
        #expect(bindings[2].isReserved && !bindings[0].isReserved)
        #expect(try QueueBinding.parseList("", exchangeType: .topic).get().isEmpty)
        // The key may hold '=' (only the first one splits); percent-encoding writes the rest.
        #expect(try QueueBinding.parseList("a%3Db=k=v%2Cw%3Fx%26y%25", exchangeType: .topic).get()
            == [QueueBinding(exchange: "a=b", bindingKey: "k=v,w?x&y%")])
    }

    @Test func headersArgumentsFollowAQuestionMark() throws {
        let bindings = try QueueBinding.parseList("docs=?x-match=any&format=pdf&lang=en%26fr,docs=k?format=doc", exchangeType: .headers).get()
        #expect(bindings == [
            QueueBinding(exchange: "docs", bindingKey: "", exchangeType: .headers,
                         arguments: ["x-match": "any", "format": "pdf", "lang": "en&fr"]),
            QueueBinding(exchange: "docs", bindingKey: "k", exchangeType: .headers, arguments: ["format": "doc"]),
        ])
    }

    static let malformed: [(text: String, entry: String, problem: String)] = [
        ("orders", "orders", "EXCHANGE=BINDING_KEY"),
        ("=order.#", "=order.#", "default exchange"),
        ("a=b,,c=d", "", "empty entry"),
        ("a=b,", "", "empty entry"),
        ("a=b?x-match=some", "a=b?x-match=some", "x-match"),
        ("a=b?format", "a=b?format", "NAME=VALUE"),
        ("a=b?=pdf", "a=b?=pdf", "NAME=VALUE"),
        ("a=b?f=1&f=2", "a=b?f=1&f=2", "given twice"),
        ("a%zz=b", "a%zz=b", "percent-encoding"),
        (String(repeating: "e", count: 256) + "=k", String(repeating: "e", count: 256) + "=k", "exchange name is over 255 bytes"),
        ("e=" + String(repeating: "k", count: 256), "e=" + String(repeating: "k", count: 256), "binding key is over 255 bytes"),
    ]

    @Test(arguments: malformed)
    func malformedEntriesAreNamed(text: String, entry: String, problem: String) {
        switch QueueBinding.parseList(text, exchangeType: .topic) {
        case .success(let bindings):
            Issue.record("'\(text)' parsed as \(bindings)")
        case .failure(let error):
            #expect(error.entry == entry)
            #expect(error.problem.contains(problem), "\(error)")
        }
    }

    @Test func settingsCarryBindingsAndTheExistingQueueIntoTheTopology() throws {
        let configuration = try WorkerConfiguration(resolving: SettingsResolver(
            flags: ["bind": "ex=a.*,ex=b"],
            environment: ["WARREN_BIND": "ignored=x", "WARREN_EXCHANGE_TYPE": "Fanout", "WARREN_EXISTING_QUEUE": "true"]))
        let topology = configuration.consumer.topology
        #expect(topology.bindings == [
            QueueBinding(exchange: "ex", bindingKey: "a.*", exchangeType: .fanout),
            QueueBinding(exchange: "ex", bindingKey: "b", exchangeType: .fanout),
        ])
        #expect(topology.existingQueue)
        #expect(configuration.loggedSettings["bind"] == "ex=a.*,ex=b")
        let defaults = try WorkerConfiguration(resolving: SettingsResolver(flags: [:], environment: [:])).consumer.topology
        #expect(defaults.bindings.isEmpty && !defaults.existingQueue)
        // The tools that declare the worker's topology read the same settings.
        let tool = try Topology(
            broker: BrokerConfiguration(resolving: SettingsResolver(flags: [:], environment: [:])),
            resolving: SettingsResolver(flags: [:], environment: ["WARREN_BIND": "t=k", "WARREN_EXISTING_QUEUE": "true"]))
        #expect(tool.bindings == [QueueBinding(exchange: "t", bindingKey: "k")] && tool.existingQueue)
    }

    @Test(arguments: [
        (["WARREN_BIND": "nokey"], [:], "WARREN_BIND", "nokey"),
        ([:], ["bind": "ok=k,=k"], "--bind", "=k"),
        (["WARREN_EXCHANGE_TYPE": "x-delayed"], [:], "WARREN_EXCHANGE_TYPE", "x-delayed"),
        (["WARREN_EXISTING_QUEUE": "yes"], [:], "WARREN_EXISTING_QUEUE", "yes"),
    ] as [([String: String], [String: String], String, String)])
    func badSettingsNameTheirKey(environment: [String: String], flags: [String: String], key: String, value: String) {
        #expect {
            try WorkerConfiguration(resolving: SettingsResolver(flags: flags, environment: environment))
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.key == key && error.value == value
        }
    }
}
