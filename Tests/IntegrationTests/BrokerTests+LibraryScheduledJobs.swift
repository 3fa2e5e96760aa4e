import Foundation
import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("Library in-process: JobScheduler with closure jobs")
    struct LibraryScheduledJobs {
        struct Failure: Error {}

        /// Three closure jobs on `@every 1s` in one `JobScheduler`: one records its ticks, one
        /// always throws, one runs 2.5 s (longer than its period, overlap not allowed). Each run
        /// gets its own tick; a failed run is logged and counted and its tick is not run again;
        /// a tick that comes while the slow run goes on is skipped with reason `overlap`. A
        /// graceful shutdown cancels the slow run in progress, returns promptly, and gives every
        /// lease back: the broker holds every job's token in its queue (one, or the old and the
        /// new one of a record the shutdown interrupted), none unacked, with no consumer.
        @Test("closure jobs: ticks in order, failures, overlap skipped, shutdown cancels and gives the lease back")
        func closureJobs() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let namespace = "it.lib.jobs.\(uniqueSuffix())"
            let names = ["count", "fail", "slow"]
            try await withCleanup {
                let log = InProcessLog()
                let counted = InProcessRecorder<Int64>()
                let cancelled = InProcessRecorder<Int64>()
                let every = try JobSchedule("@every 1s")
                let jobs = [
                    try ScheduledJob(name: "count", schedule: every) { context in counted.append(context.tick) },
                    try ScheduledJob(name: "fail", schedule: every) { _ in throw Failure() },
                    try ScheduledJob(name: "slow", schedule: every) { context in
                        do {
                            try await Task.sleep(for: .milliseconds(2500))
                        } catch {
                            cancelled.append(context.tick)
                            throw error
                        }
                    },
                ]
                let connection = WarrenConnection(try env.connection("it-lib-jobs-\(uniqueSuffix())"), logger: log.logger())
                let scheduler = try JobScheduler(namespace: namespace, jobs: jobs, connection: connection, logger: log.logger())
                try await withInProcessWorker([connection, scheduler], log: log) { worker in
                    try await poll(timeout: .seconds(30), "4 counted ticks, 2 failures, an overlap", lastSeen: { log.transcript }) {
                        counted.count >= 4 && log.events("job.failed").filter { $0["job"] == "fail" }.count >= 2
                            && log.events("job.skipped").contains { $0["reason"] == "overlap" }
                    }
                    // Stop while the slow job runs: it is running almost all the time.
                    try await poll(timeout: .seconds(10), "the slow job running", lastSeen: { log.transcript }) {
                        let slow = log.all.filter { $0["job"] == "slow" }
                        return slow.last?.event == "job.started"
                    }
                    let elapsed = try await worker.stop(timeout: .seconds(15))
                    #expect(elapsed < .seconds(5), "the shutdown does not wait for the slow run: \(elapsed)")
                }
                #expect(cancelled.count >= 1, "the run in progress was cancelled: \(log.transcript)")
                let cut = log.events("job.failed").filter { $0["job"] == "slow" }
                #expect(cut.allSatisfy { $0["error"] == "cancelled by the shutdown" }, "\(cut)")

                let ticks = counted.all
                #expect(ticks == ticks.sorted() && Set(ticks).count == ticks.count, "each tick once, in order: \(ticks)")
                #expect(zip(ticks, ticks.dropFirst()).allSatisfy { $1 - $0 == 1 }, "no tick missed while healthy: \(ticks)")
                let failedTicks = log.events("job.failed").filter { $0["job"] == "fail" }.compactMap { $0["tick"] }
                #expect(Set(failedTicks).count == failedTicks.count, "a failed tick is not run again: \(failedTicks)")
                let overlap = log.events("job.skipped").filter { $0["reason"] == "overlap" }
                #expect(overlap.allSatisfy { $0["job"] == "slow" }, "only the slow job overlaps: \(overlap)")

                // The broker's word: every lease back in its queue, nothing unacked, no consumer.
                // One token, or two when the shutdown came between a record's confirmed publish
                // and its ack of the older token (the next leader merges them; see
                // Docs/scheduled-jobs.md), as it did on a loaded machine. The quorum queues'
                // counts reach `rabbitmqctl` late, and each call takes seconds on a loaded
                // machine: hence the generous deadline.
                var seen = "no answer yet"
                try await poll(timeout: .seconds(60), interval: .seconds(1), "every job's tokens back, no consumer", lastSeen: { seen }) {
                    let queues = try await broker.listQueues()
                    seen = names.map { "\($0): \(queues[JobScheduler.leaseQueue(namespace, $0)].map(\.description) ?? "missing")" }
                        .joined(separator: "; ")
                    return names.allSatisfy { name in
                        let counts = queues[JobScheduler.leaseQueue(namespace, name)]
                        return (1...2).contains(counts?.messages ?? 0) && counts?.unacknowledged == 0
                    }
                }
                for name in names {
                    #expect(try await broker.consumerCount(of: JobScheduler.leaseQueue(namespace, name)) == 0)
                }
            } cleanup: {
                await broker.delete(queues: names.map { JobScheduler.leaseQueue(namespace, $0) })
            }
        }
    }
}
