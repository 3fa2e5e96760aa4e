import Foundation
import Testing
import Warren

extension BrokerTests {
    @Suite("A message that crashes the worker, among 200 good ones")
    struct CrashLoop {
        /// `{"fail": "crash"}` kills the worker (a `fatalError`) in the middle of 200 good
        /// messages, with the default prefetch (50) and concurrency (8). A supervisor restarts
        /// the worker after every crash. The first crash returns every message the worker held,
        /// all `redelivered`; they run again beside each other, each under a crash marker, so the
        /// second crash marks only the messages running then; those run alone from then on, and
        /// the good ones among them are acked. The poison message crashes the worker 3 more times
        /// alone and is then dead-lettered as `crash-loop`; every good message is acked and none is
        /// dead-lettered, on quorum queues (whose broker delivery count rises for every returned
        /// message) and on classic queues (which have none).
        @Test("the crash-loop message ends in Q.dead; all 200 good messages are acked, none dead-lettered", arguments: ["quorum", "classic"])
        func crashLoopSparesTheInnocent(queueType: String) async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("crashloop-\(queueType)") { queue in
                let tag = uniqueSuffix()
                // The second crash must come while suspects (the first crash's window, about 50
                // messages) run beside the poison. A poison dying the instant it starts died, on a
                // loaded machine, before any of them was marked and running; one working 1 s
                // outlived the whole window (7 slots of 100 ms runs), so only fresh, unmarked
                // messages were beside it. 500 ms of poison against about 1.4 s of suspects
                // leaves room both ways, and load only lengthens the suspects' runs.
                let good = (0..<200).map { (id: "good-\($0)-\(tag)", body: #"{"work_ms": 200}"#) }
                let poison = (id: "poison-\(tag)", body: #"{"fail": "crash", "work_ms": 500}"#)
                try await env.declareTopology(queue, queueType: queueType == "quorum" ? .quorum : .classic)
                try await broker.pikaPublish(queue: queue, messages: Array(good[..<100]) + [poison] + Array(good[100...]))

                let probe = WarrenConnection(try env.connection("it-crashloop-probe"))
                let supervisor = Supervisor(env, queue: queue, ["--queue-type", queueType])
                defer { supervisor.forceStop() }
                try await withCleanup {
                    try await supervisor.run(maxLaunches: 8, timeout: .seconds(150)) {
                        let amqp = try await probe.connection()
                        let dead = try await amqp.inspectQueue(queue + ".dead").messages
                        let ready = try await amqp.inspectQueue(queue).messages
                        return dead >= 1 && ready == 0
                    }
                } cleanup: {
                    await probe.close()
                }

                // Everything was settled: nothing ready or unacked in Q, nothing waiting to retry.
                let counts = try await broker.waitForCounts(of: queue, "empty, nothing unacked") { $0.messages == 0 }
                #expect(counts.type == queueType)
                let last = try #require(supervisor.workers.last)
                let (end, _) = try await last.stop()
                #expect(end == .exited(0), "the last worker drains and exits 0: \(last.transcript)")

                // Two crashes with the poison running beside others (unmarked, then marked), then
                // three alone.
                #expect(supervisor.exits.count == 5, "exits \(supervisor.exits)\n\(supervisor.transcript)")
                #expect(supervisor.exits.allSatisfy { $0 != .exited(0) }, "\(supervisor.exits)")

                // Only the poison message is in Q.dead, dead-lettered by Warren as a crash loop.
                let dead = try await broker.pikaGet(queue: queue + ".dead", max: 10)
                #expect(dead.map(\.message_id) == [poison.id], "\(dead)")
                let copy = try #require(dead.first)
                #expect(copy.headers["x-warren-error-type"] == "crash-loop", "\(copy)")
                #expect(copy.headers["x-warren-error-message"]?.contains("crashed the worker 3 times") == true, "\(copy)")
                #expect(copy.body == poison.body)
                let deadLettered = supervisor.events("message.dead_lettered")
                #expect(deadLettered.compactMap { $0["message_id"] } == [poison.id], "\(supervisor.transcript)")
                #expect(deadLettered.first?["dead_letter_reason"] == "crash_loop")

                // The suspects were handled alone; the poison was admitted with 0, 1, 2 crashes.
                // (A line logged just before the process dies may not be written: the log writer
                // is asynchronous, so some of these can be missing, never wrong.)
                let isolated = supervisor.events("message.isolated")
                let poisonRuns = isolated.filter { $0["message_id"] == poison.id }.compactMap { $0["crashes"] }
                #expect(Set(poisonRuns).isSubset(of: ["0", "1", "2"]) && poisonRuns == poisonRuns.sorted(), "\(supervisor.transcript)")
                // The evidence must exist before it is checked: the second crash marked the good
                // messages running beside the poison (most of the 8 slots); each then ran alone and
                // was acked, so its line was logged at least one 200 ms handler run before any later
                // crash could cut the log short. (With 20 ms runs, a loaded machine's log writer
                // thread did not get to write them before the next crash.)
                let innocentsAlone = isolated.filter { $0["message_id"] != nil && $0["message_id"] != poison.id }
                #expect(!innocentsAlone.isEmpty, "no good message was logged as handled alone:\n\(supervisor.transcript)")
                let chargedInnocents = innocentsAlone.filter { $0["crashes"] != "0" }
                #expect(chargedInnocents.isEmpty, "no good message was ever charged with a crash: \(chargedInnocents)")

                // No message but the poison ever gathered more than one crash: a marker queue left
                // behind holds at most the one marker of a run that was settled just as the process
                // died (the ack went out, the delete did not); it expires unused.
                let queues = try await broker.listQueues()
                let markers = queues.values.filter { $0.name.hasPrefix(queue + ".crash.") }
                #expect(markers.allSatisfy { $0.messages <= 1 }, "\(markers)\n\(supervisor.transcript)")
                await broker.delete(queues: markers.map(\.name))
            }
        }
    }
}
