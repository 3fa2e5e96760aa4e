import Testing
@testable import Warren

/// The retry, crash-limit and delivery-limit settings (`SettingsResolver+Retry`).
@Suite struct SettingsResolverRetryTests {
    @Test func settingsReadRetriesAndLimits() throws {
        let configuration = try WorkerConfiguration(resolving: SettingsResolver(flags: [:], environment: [
            "WARREN_RETRY_DELAYS": "200ms, 2s", "WARREN_IMMEDIATE_RETRIES": "2", "WARREN_CRASH_LIMIT": "0", "WARREN_DELIVERY_LIMIT": "7",
        ]))
        #expect(configuration.retryPolicy == RetryPolicy(immediateRetries: 2, delays: [.milliseconds(200), .seconds(2)]))
        #expect(configuration.crashLimit == nil)
        #expect(configuration.consumer.topology.queueArguments["x-delivery-limit"] == 7)
        #expect(configuration.loggedSettings["retry-delays"] == "200ms,2s")

        let defaults = try WorkerConfiguration(resolving: SettingsResolver(flags: [:], environment: [:]))
        #expect(defaults.retryPolicy == RetryPolicy())
        #expect(defaults.crashLimit == 3)
        #expect(defaults.deliveryLimit == 20)
        let none = try WorkerConfiguration(resolving: SettingsResolver(flags: [:], environment: ["WARREN_RETRY_DELAYS": ""]))
        #expect(none.retryPolicy.delays.isEmpty)
    }

    @Test(arguments: [
        ("WARREN_RETRY_DELAYS", "1s,soon"), ("WARREN_RETRY_DELAYS", "0s"), ("WARREN_IMMEDIATE_RETRIES", "-1"),
        ("WARREN_CRASH_LIMIT", "many"), ("WARREN_DELIVERY_LIMIT", "-5"),
    ])
    func badSettingsNameTheirKey(key: String, value: String) {
        #expect {
            try WorkerConfiguration(resolving: SettingsResolver(flags: [:], environment: [key: value]))
        } throws: { error in
            (error as? ConfigurationError)?.key == key
        }
    }
}
