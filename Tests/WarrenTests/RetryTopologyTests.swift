import Testing
import WarrenAMQP
@testable import Warren

@Suite("Retry topology, settings and the crash marker key")
struct RetryTopologyTests {
    @Test func retryQueuesExpireBackIntoTheWorkQueue() {
        let topology = Topology(queue: "jobs", queueType: .classic, retryDelays: [.milliseconds(250), .seconds(10), .seconds(60)])
        #expect(topology.retryQueues == ["jobs.retry.250ms", "jobs.retry.10s", "jobs.retry.1m"])
        #expect(topology.retryQueueArguments(delay: .seconds(10)) == [
            "x-queue-type": "classic", "x-message-ttl": 10_000, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "jobs",
        ])
        // Classic queues have no delivery count: no broker safety net, whatever the limit.
        #expect(topology.queueArguments == ["x-queue-type": "classic", "x-dead-letter-exchange": "jobs.dlx"])
    }

    @Test func quorumRetryQueuesDeadLetterAtLeastOnce() {
        let topology = Topology(queue: "jobs", queueType: .quorum, retryDelays: [.seconds(1)], deliveryLimit: nil)
        #expect(topology.retryQueueArguments(delay: .seconds(1)) == [
            "x-queue-type": "quorum", "x-message-ttl": 1000, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": "jobs",
            "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish",
        ])
        // Without a delivery limit the queue is declared as before, for queues created without it.
        #expect(topology.queueArguments == ["x-queue-type": "quorum", "x-dead-letter-exchange": "jobs.dlx"])
    }

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

    @Test func markerKeyFollowsTheMessageNotTheDelivery() {
        let key = CrashMarkerKey(messageID: "m-1", body: Array("{}".utf8))
        #expect(key == CrashMarkerKey(messageID: "m-1", body: Array("{}".utf8)))
        #expect(key != CrashMarkerKey(messageID: "m-2", body: Array("{}".utf8)))
        #expect(key != CrashMarkerKey(messageID: "m-1", body: Array("{ }".utf8)))
        #expect(key != CrashMarkerKey(messageID: nil, body: Array("{}".utf8)))
        // The id and body are kept apart: "ab" + "" is not "a" + "b".
        #expect(CrashMarkerKey(messageID: "ab", body: []) != CrashMarkerKey(messageID: "a", body: Array("b".utf8)))
        #expect(key.hex.count == 16 && key.hex.allSatisfy(\.isHexDigit))
        // FNV-1a of the separator byte alone, worked by hand: a fixed name across versions.
        let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
        let prime: UInt64 = 0x0000_0100_0000_01b3
        #expect(CrashMarkerKey(messageID: nil, body: []).value == (offsetBasis ^ 0xff) &* prime)
    }

    @Test func onlyMessagesRunningAtACrashRunAloneAndOnlyCrashesAloneCount() {
        // Never running at a crash: beside others (a drained or reconnected delivery).
        #expect(CrashGuard.plan(markedCrashes: 0, limit: 3) == .beside)
        // The first marked crash may have had company; the later ones were alone.
        #expect(CrashGuard.plan(markedCrashes: 1, limit: 3) == .alone(crashesAlone: 0))
        #expect(CrashGuard.plan(markedCrashes: 3, limit: 3) == .alone(crashesAlone: 2))
        #expect(CrashGuard.plan(markedCrashes: 4, limit: 3) == .crashLoop(crashesAlone: 3))
        #expect(CrashGuard.plan(markedCrashes: 9, limit: 3) == .crashLoop(crashesAlone: 8))
        #expect(CrashGuard.plan(markedCrashes: 2, limit: 1) == .crashLoop(crashesAlone: 1))
    }

    @Test func crashLoopsAreNamedForOperators() {
        let error = CrashLoopDetected(crashes: 3, limit: 3)
        #expect(DeadLetterHeaders.errorTypeName(error) == "crash-loop")
        #expect(DeadLetterReason(error) == .crashLoop)
        #expect(RetryPolicy().decision(after: error, attempt: 1, immediateRetriesSoFar: 0) == .deadLetter(permanent: true))
        #expect(DeadLetterHeaders.errorTypeName(PermanentFailure(CancellationError())) == "CancellationError")
    }
}
