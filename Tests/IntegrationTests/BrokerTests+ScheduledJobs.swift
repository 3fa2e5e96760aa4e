import Foundation
import Testing

extension BrokerTests {
    /// `warren worker --schedule`: scheduled jobs whose lease and state live in the broker.
    /// Real worker processes, the shared test broker; a witness queue bound to the tick
    /// exchange receives a copy of every tick message, so the test counts what was published,
    /// not what a worker happened to log.
    @Suite("Scheduled jobs across replicas")
    struct ScheduledJobs {
        /// Issue 16, tests 1 and 2: three replicas of `@every 1s` for about 30 s, while the
        /// test SIGKILLs the leader, SIGTERMs the next one and freezes the third (SIGSTOP past
        /// the heartbeat timeout, then SIGCONT), starting a fresh replica after each of the
        /// first two so that two always compete. Every tick id is published at most once,
        /// every tick from the first to the last is either published or logged as skipped by
        /// the missed-tick policy, and each takeover is within its bound.
        @Test("three replicas: each tick once, through SIGKILL, SIGTERM and SIGSTOP of the leader")
        func onceThroughTakeovers() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let queue = "it.schedule.\(uniqueSuffix())"
            let exchange = "\(queue).schedule"
            let witness = "\(queue).witness"
            try await withCleanup {
                try await declareWitness(env, exchange: exchange, witness: witness, job: "tick")
                let arguments = ["--queue-type", "classic", "--handler", "noop", "--heartbeat", "2s",
                                 "--schedule", "tick=@every 1s", "--log-level", "info"]
                var replicas = try (0..<3).map { _ in try WarrenProcess.worker(env, queue: queue, arguments) }
                defer { for replica in replicas { replica.forceStop() } }
                let started = ContinuousClock.now

                func leader(excluding gone: Set<Int32>) -> WarrenProcess? {
                    replicas.last { !gone.contains($0.child.pid) && !$0.events("job.lease_acquired").isEmpty
                        && ($0.events("job.lease_lost") + $0.events("job.lease_error")).isEmpty }
                }
                var gone = Set<Int32>()
                let first = try await pollValue(timeout: .seconds(30), "a leader", lastSeen: { replicas.map(\.transcript).joined() }) {
                    leader(excluding: gone)
                }
                try await poll(timeout: .seconds(10), "3 ticks run by the first leader", lastSeen: { first.transcript }) {
                    first.events("job.completed").count >= 3
                }
                #expect(replicas.filter { !$0.events("job.lease_acquired").isEmpty }.count == 1, "one leader at a time")

                /// Stops `old` with `stop`, waits for another leader within `bound` and for
                /// two ticks run by it; prints the takeover time for the note.
                func takeOver(from old: WarrenProcess, by how: String, within bound: Duration,
                              _ stop: () async throws -> Void) async throws -> WarrenProcess {
                    let stopped = ContinuousClock.now
                    try await stop()
                    gone.insert(old.child.pid)
                    let next = try await pollValue(timeout: bound + .seconds(5), "a leader after \(how)", lastSeen: { replicas.map(\.transcript).joined() }) {
                        leader(excluding: gone)
                    }
                    let elapsed = stopped.duration(to: .now)
                    print("scheduled jobs: takeover after \(how) \(Int(elapsed.milliseconds)) ms")
                    #expect(elapsed < bound, "takeover after \(how) within \(bound)")
                    try await poll(timeout: .seconds(10), "2 ticks by the leader after \(how)", lastSeen: { next.transcript }) {
                        next.events("job.completed").count >= 2
                    }
                    return next
                }

                // 1. SIGKILL: the kernel closes the socket; the broker hands the lease on at once.
                let second = try await takeOver(from: first, by: "SIGKILL", within: .seconds(2)) { first.send(SIGKILL) }
                replicas.append(try WarrenProcess.worker(env, queue: queue, arguments))

                // 2. SIGTERM: the lease is given back during the drain; the next tick is on time.
                let third = try await takeOver(from: second, by: "SIGTERM", within: .seconds(2)) {
                    let (end, _) = try await second.stop(with: SIGTERM, timeout: .seconds(30))
                    #expect(end == .exited(0), "\(second.transcript)")
                }
                replicas.append(try WarrenProcess.worker(env, queue: queue, arguments))

                // 3. SIGSTOP past the heartbeat timeout (worker heartbeat 2 s): another replica
                // takes over within 2 × the heartbeat; the woken one runs no tick before it
                // leads again.
                let completedBeforeWake = third.events("job.started").count
                // SIGKILL and SIGTERM handed the lease over between two ticks: nothing was missed.
                let skippedBeforeFreeze = replicas.flatMap { $0.events("job.skipped") }
                #expect(skippedBeforeFreeze.isEmpty, "no tick missed through SIGKILL and SIGTERM: \(skippedBeforeFreeze)")
                let fourth = try await takeOver(from: third, by: "SIGSTOP (heartbeat 2 s)", within: .seconds(4)) { third.send(SIGSTOP) }
                third.send(SIGCONT)
                try await poll(timeout: .seconds(15), "the woken replica to log job.lease_lost", lastSeen: { third.transcript }) {
                    !third.events("job.lease_lost").isEmpty
                }

                // The metrics say who leads: 1 on the leader, 0 on a standby; runs and the
                // last success are counted on the replica that ran them.
                let standby = try #require(replicas.first { $0.isRunning && $0.child.pid != fourth.child.pid && !gone.contains($0.child.pid) })
                try await fourth.healthProbe().waitForMetrics("the leader's job metrics") { samples in
                    samples[#"warren_job_leader{job_name="tick"}"#] == 1
                        && (samples[#"warren_job_runs_total{job_name="tick",outcome="completed"}"#] ?? 0) >= 2
                        && (samples[#"warren_job_last_success_timestamp_seconds{job_name="tick"}"#] ?? 0) > 1_700_000_000
                }
                try await standby.healthProbe().waitForMetrics("a standby's leader gauge at 0") { samples in
                    samples[#"warren_job_leader{job_name="tick"}"#] == 0
                }

                // Run to about 30 s in all.
                let remaining = Duration.seconds(30) - started.duration(to: .now)
                if remaining > .zero {
                    let target = fourth.events("job.completed").count + Int(remaining.components.seconds)
                    try await poll(timeout: remaining + .seconds(10), "ticks until 30 s", lastSeen: { fourth.transcript }) {
                        fourth.events("job.completed").count >= target
                    }
                }
                for replica in replicas where replica.isRunning {
                    replica.send(SIGCONT)
                    _ = try await replica.stop(with: SIGTERM, timeout: .seconds(30))
                }

                // The woken leader ran nothing between waking and losing its lease: any
                // job.started of its after the freeze must follow a fresh lease_acquired.
                let thirdLines = third.lines.filter { $0.event?.hasPrefix("job.") == true }.map { $0.event! }
                let afterWake = thirdLines.dropFirst(thirdLines.indices.filter { thirdLines[$0] == "job.started" }.prefix(completedBeforeWake).last.map { $0 + 1 } ?? 0)
                if let firstStart = afterWake.firstIndex(of: "job.started") {
                    #expect(afterWake[..<firstStart].contains("job.lease_acquired"), "woken replica: \(Array(afterWake))")
                }

                // The broker's word: each tick id published at most once; ticks contiguous
                // except those the policy skipped (and logged).
                let published = try await broker.pikaGet(queue: witness).compactMap(\.message_id)
                let counts = Dictionary(published.map { ($0, 1) }, uniquingKeysWith: +)
                #expect(counts.filter { $0.value > 1 }.isEmpty, "tick ids published twice: \(counts.filter { $0.value > 1 })")
                let ticks = Set(published.compactMap { Self.epochSeconds(of: $0) })
                let skipped = Set(replicas.flatMap { $0.events("job.skipped") }.flatMap { ($0["ticks"] ?? "").split(separator: ",") }
                    .compactMap { Self.epochSeconds(of: "tick@" + $0) })
                #expect(ticks.count >= 25, "about 30 s of ticks: \(ticks.count)")
                if let low = ticks.min(), let high = ticks.max() {
                    let missing = (low...high).filter { !ticks.contains($0) && !skipped.contains($0) }
                    #expect(missing.isEmpty, "ticks neither published nor logged as skipped: \(missing)")
                }
                let all = replicas.flatMap { $0.events("job.started") }
                print("scheduled jobs: \(ticks.count) ticks published, \(skipped.count) skipped, \(all.count) runs logged")
            } cleanup: {
                await broker.deleteTopology(of: queue)
                await broker.delete(queues: ["\(queue).schedule.tick", witness], exchanges: [exchange])
            }
        }

        /// Issue 16, test 3: every replica down for several ticks, then one starts again. The
        /// last completed tick was kept in the broker (the lease token), so the restarted
        /// replica neither repeats a tick nor drops more than its policy says: `skip` publishes
        /// none of the missed ticks, `latest` only the newest, `all` every one (within the
        /// catch-up limit of 10).
        @Test("full restart after missed ticks", arguments: ["skip", "latest", "all"])
        func fullRestart(policy: String) async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let queue = "it.schedule.\(policy).\(uniqueSuffix())"
            let exchange = "\(queue).schedule"
            let witness = "\(queue).witness"
            try await withCleanup {
                try await declareWitness(env, exchange: exchange, witness: witness, job: "tick")
                let arguments = ["--queue-type", "classic", "--handler", "noop", "--schedule", "tick=@every 1s",
                                 "--schedule-missed-ticks", policy]
                let before = try WarrenProcess.worker(env, queue: queue, arguments)
                defer { before.forceStop() }
                try await poll(timeout: .seconds(30), "2 ticks before the outage", lastSeen: { before.transcript }) {
                    before.events("job.completed").count >= 2
                }
                _ = try await before.stop(with: SIGTERM, timeout: .seconds(30))
                let lastBefore = try #require(before.events("job.started").compactMap { $0["tick"] }.compactMap { Self.epochSeconds(of: "tick@" + $0) }.max())
                // Down for at least 4 ticks, measured on the wall clock the ticks use.
                try await poll(timeout: .seconds(10), interval: .milliseconds(100), "4 ticks of outage") {
                    Int64(Date().timeIntervalSince1970) >= lastBefore + 5
                }
                let after = try WarrenProcess.worker(env, queue: queue, arguments)
                defer { after.forceStop() }
                let acquired = try await after.waitForEvent("job.lease_acquired", timeout: .seconds(30))
                let acquiredAt = try #require(acquired["ts"].flatMap { Self.epochSeconds(of: "x@" + $0.prefix(19) + "Z") })
                try await poll(timeout: .seconds(15), "2 ticks after the restart", lastSeen: { after.transcript }) {
                    after.events("job.completed").count >= 2 + (policy == "all" ? 4 : 0)
                }
                _ = try await after.stop(with: SIGTERM, timeout: .seconds(30))

                let published = try await broker.pikaGet(queue: witness).compactMap(\.message_id)
                #expect(Set(published).count == published.count, "no tick id twice: \(published.sorted())")
                let ticks = Set(published.compactMap { Self.epochSeconds(of: $0) })
                // Ticks due by the time the restarted replica held the lease (its second included).
                let missed = (lastBefore + 1)...acquiredAt
                let inGap = ticks.filter { missed.contains($0) }.sorted()
                let skipped = after.events("job.skipped").flatMap { ($0["ticks"] ?? "").split(separator: ",") }
                    .compactMap { Self.epochSeconds(of: "tick@" + $0) }
                switch policy {
                case "skip":
                    // Only a tick within the 2 s grace of "on time" may run.
                    #expect(inGap.allSatisfy { $0 >= acquiredAt - 2 }, "skip: no missed tick runs: \(inGap) of \(missed)")
                    #expect(skipped.count >= 3, "skip: the missed ticks are logged: \(after.transcript)")
                case "latest":
                    #expect(inGap.count == 1 && inGap.first == missed.upperBound,
                            "latest: only the newest missed tick runs: \(inGap) of \(missed)")
                    #expect(skipped.count >= 3, "latest: the older missed ticks are logged: \(after.transcript)")
                default:
                    #expect(inGap == Array(missed), "all: every missed tick runs: \(inGap) of \(missed)")
                }
            } cleanup: {
                await broker.deleteTopology(of: queue)
                await broker.delete(queues: ["\(queue).schedule.tick", witness], exchanges: [exchange])
            }
        }

        /// `tick@2026-12-06T00:00:01Z` → seconds since the epoch.
        static func epochSeconds(of id: String) -> Int64? {
            guard let at = id.firstIndex(of: "@") else { return nil }
            let formatter = ISO8601DateFormatter()
            return formatter.date(from: String(id[id.index(after: at)...])).map { Int64($0.timeIntervalSince1970) }
        }

        /// The tick exchange exists before any worker declares it (same properties: durable
        /// direct), with a witness queue bound like the lease and work queues.
        private func declareWitness(_ env: TestEnvironment, exchange: String, witness: String, job: String) async throws {
            try await runToolChecked("python3", ["-c", """
                import sys, pika
                url, exchange, witness, job = sys.argv[1:5]
                connection = pika.BlockingConnection(pika.URLParameters(url))
                channel = connection.channel()
                channel.exchange_declare(exchange, exchange_type='direct', durable=True)
                channel.queue_declare(witness, durable=True, arguments={'x-queue-type': 'classic'})
                channel.queue_bind(witness, exchange, routing_key=job)
                connection.close()
                """, env.amqpURL, exchange, witness, job], timeout: .seconds(30))
        }
    }
}
