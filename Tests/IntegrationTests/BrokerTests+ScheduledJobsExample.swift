import Foundation
import Testing

extension BrokerTests {
    /// Examples/ScheduledJobs, built by `make test` like a user's package: a consumer stores
    /// sessions, and the `expire-sessions` job (`@every 1s` here) deletes the expired ones.
    @Suite("Example: ScheduledJobs")
    struct ScheduledJobsExample {
        @Test("stores sessions from messages and the scheduled job expires them, once per tick")
        func expiresSessions() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let binary = try env.exampleBinary("ScheduledJobs", variable: "WARREN_EXAMPLE_SCHEDULED_JOBS")
            try await broker.withQueue("example.sessions") { queue in
                let store = FileManager.default.temporaryDirectory.appendingPathComponent("sessions-\(uniqueSuffix()).jsonl").path
                try await withCleanup {
                    let worker = try WarrenProcess.launch(
                        env, [],
                        environment: [
                            "WARREN_AMQP_URL": env.amqpURL, "WARREN_QUEUE": queue, "WARREN_QUEUE_TYPE": "classic",
                            "WARREN_HTTP_PORT": "0", "SESSION_STORE": store, "EXPIRE_SCHEDULE": "@every 1s",
                        ],
                        executable: binary)
                    defer { worker.forceStop() }
                    try await worker.waitForEvent("worker.consuming", timeout: .seconds(30))
                    try await worker.waitForEvent("job.lease_acquired", timeout: .seconds(30))

                    let now = Int64(Date().timeIntervalSince1970)
                    let expired = (1...3).map { #"{"sessionID":"old-\#($0)","expiresAt":\#(now - 60)}"# }
                    let live = (1...2).map { #"{"sessionID":"new-\#($0)","expiresAt":\#(now + 3600)}"# }
                    try await broker.pikaPublish(
                        queue: queue, messages: (expired + live).enumerated().map { (id: "session-\($0.offset)", body: $0.element) })

                    try await poll(timeout: .seconds(20), "5 sessions stored, 3 expired", lastSeen: { worker.transcript }) {
                        worker.events("session.stored").count == 5
                            && worker.events("sessions.expired").compactMap { $0["removed"].flatMap { Int($0) } }.reduce(0, +) == 3
                    }
                    let rows = try String(contentsOfFile: store, encoding: .utf8).split(separator: "\n")
                    #expect(rows.count == 2 && rows.allSatisfy { $0.contains("new-") }, "\(rows)")
                    // One expiry run per tick: the tick ids of the runs are distinct.
                    let ticks = worker.events("job.started").compactMap { $0["tick"] }
                    #expect(Set(ticks).count == ticks.count, "\(ticks)")

                    let (end, _) = try await worker.stop(with: SIGTERM, timeout: .seconds(30))
                    #expect(end == .exited(0), "\(worker.transcript)")
                } cleanup: {
                    try? FileManager.default.removeItem(atPath: store)
                    await broker.delete(queues: ["\(queue).schedule.expire-sessions"])
                }
            }
        }
    }
}
