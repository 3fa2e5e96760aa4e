import Foundation
import Testing

extension BrokerTests {
    @Suite("Worker configuration from flags and environment")
    struct Configuration {
        static let invalidSettings: [InvalidSetting] = [
            InvalidSetting(environment: ["WARREN_PREFETCH": "abc"], arguments: [], key: "WARREN_PREFETCH"),
            InvalidSetting(environment: ["WARREN_SCHEDULE": "cleanup=0 0 30 2 *"], arguments: [], key: "WARREN_SCHEDULE"),
            InvalidSetting(environment: [:], arguments: ["--schedule", "cleanup=61 * * * *"], key: "--schedule"),
            InvalidSetting(environment: ["WARREN_SCHEDULE_MISSED_TICKS": "some"], arguments: [], key: "WARREN_SCHEDULE_MISSED_TICKS"),
            InvalidSetting(environment: [:], arguments: ["--prefetch", "0"], key: "--prefetch"),
            InvalidSetting(environment: ["WARREN_CONCURRENCY": "0"], arguments: [], key: "WARREN_CONCURRENCY"),
            InvalidSetting(environment: [:], arguments: ["--queue-type", "stream"], key: "--queue-type"),
            InvalidSetting(environment: ["WARREN_QUEUE_TYPE": "stream"], arguments: [], key: "WARREN_QUEUE_TYPE"),
            InvalidSetting(environment: ["WARREN_LOG_LEVEL": "loud"], arguments: [], key: "WARREN_LOG_LEVEL"),
        ]

        @Test("an invalid setting exits 78 quickly, naming the key", arguments: invalidSettings)
        func invalidSettingExits78(_ setting: InvalidSetting) async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("config") { queue in
                // A valid broker and queue, so only the invalid setting can stop it.
                let environment = ["WARREN_AMQP_URL": env.amqpURL, "WARREN_QUEUE": queue]
                    .merging(setting.environment) { _, new in new }
                let worker = try WarrenProcess.launch(env, ["worker"] + setting.arguments, environment: environment)
                defer { worker.forceStop() }
                let end = try await worker.waitForExit(timeout: .seconds(10))
                #expect(end == .exited(78), "\(worker.transcript)")
                #expect(worker.stderrText.contains(setting.key), "stderr names \(setting.key):\n\(worker.transcript)")
                #expect(worker.events("worker.consuming").isEmpty)
            }
        }

        /// Flags win over environment variables; the environment is still read for what no flag sets.
        @Test("flags beat environment variables")
        func flagsBeatEnvironment() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("config.flag") { flagQueue in
                try await broker.withQueue("config.env") { envQueue in
                    let worker = try WarrenProcess.launch(
                        env, ["worker", "--queue", flagQueue, "--queue-type", "quorum"],
                        environment: [
                            "WARREN_AMQP_URL": env.amqpURL,  // no --amqp-url: this must be read
                            "WARREN_QUEUE": envQueue,
                            "WARREN_QUEUE_TYPE": "classic",
                        ])
                    defer { worker.forceStop() }
                    let consuming = try await worker.waitForEvent("worker.consuming")
                    #expect(consuming["queue"] == flagQueue, "\(consuming)")

                    let queues = try await broker.listQueues()
                    #expect(queues[flagQueue]?.type == "quorum", "--queue-type beats WARREN_QUEUE_TYPE: \(queues[flagQueue].map(\.description) ?? "missing")")
                    #expect(queues[envQueue] == nil, "WARREN_QUEUE was overridden, so \(envQueue) is never declared")

                    worker.send(SIGINT)
                    let end = try await worker.waitForExit(timeout: .seconds(20))
                    #expect(end == .exited(0), "SIGINT stops the worker gracefully\n\(worker.transcript)")
                }
            }
        }
    }
}
