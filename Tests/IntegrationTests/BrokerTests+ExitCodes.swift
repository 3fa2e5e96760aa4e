import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension BrokerTests {
    /// The README's exit-code table, checked on the real executable. 69 and 78 have their own
    /// tests (refusals, configuration); 70 (the consumer loop itself failed) cannot be provoked
    /// from outside a correct build, so `WorkerHostExitCodeTests` checks its mapping.
    @Suite("Exit codes of the warren executable")
    struct ExitCodes {
        /// An unknown flag is a usage error (EX_USAGE) that names the flag, for every subcommand,
        /// before anything connects to a broker. (`dlq replay` gets `--all`: without it its own
        /// validation, also exit 64, speaks first and names `--count`/`--all` instead.)
        @Test("an unknown flag exits 64 and names the flag", arguments: [["worker"], ["publish"], ["dlq", "replay", "--all"]])
        func unknownFlagIs64(subcommand: [String]) async throws {
            let env = try TestEnvironment.current()
            let result = try await runTool(
                env.warrenBinary, subcommand + ["--no-such-flag"], removingEnvironment: { $0.hasPrefix("WARREN_") },
                timeout: .seconds(15))
            #expect(result.termination == .exited(64), "\(result)")
            #expect(result.stderr.contains("--no-such-flag"), "\(result)")
        }

        /// `warren dlq replay` stopped by SIGINT (130) or SIGTERM (143): the batch being confirmed
        /// is finished and its originals acked, the rest stays in `Q.dead`, nothing is lost or
        /// duplicated, and stderr says which signal stopped it.
        @Test("dlq replay stopped by SIGINT exits 130, by SIGTERM 143, after finishing its batch",
              arguments: [SIGINT, SIGTERM])
        func replayInterrupted(signal: Int32) async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("exit-\(signal)") { queue in
                let tag = uniqueSuffix()
                let dead = queue + ".dead"
                // Enough one-message batches (a confirm round trip each) that the replay is
                // still running when the signal lands, even on a fast machine.
                let total = 1000
                let ids = (0..<total).map { "r\($0)-\(tag)" }
                try await env.declareTopology(queue)
                try await broker.pikaPublish(queue: dead, ids.map { OutgoingMessage(id: $0, body: "{}") })
                try await broker.waitForCounts(of: dead, "\(total) ready") { $0.ready == total }

                let counter = try await DeadLetterToolingCounter.open(env)
                let replay = try WarrenProcess.launch(
                    env, ["dlq", "replay"] + dlqBrokerArguments(env, queue: queue) + ["--all", "--batch", "1"])
                defer { replay.forceStop() }
                // The first copy in Q means the signal handlers are installed (they are before
                // the first read) and the replay is under way.
                try await withCleanup {
                    try await poll(timeout: .seconds(30), interval: .milliseconds(2), "copies in \(queue)",
                                   lastSeen: { replay.transcript }) { try await counter.ready(queue) > 0 }
                } cleanup: {
                    await counter.close()
                }
                replay.send(signal)
                let termination = try await replay.waitForExit()
                #expect(termination == .exited(128 + signal), "\(replay.transcript)")
                let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
                #expect(replay.stderrText.contains("interrupted by \(name)"), "\(replay.transcript)")
                let summary = try #require(replay.lines.compactMap { $0.raw.firstMatch(of: /^replayed (\d+), kept 0$/) }.first,
                                           "a summary line: \(replay.transcript)")
                let replayed = try #require(Int(summary.1))
                #expect(replayed >= 1 && replayed < total, "stopped part-way: \(replayed) of \(total)")

                // Every confirmed copy's original was acked, nothing else: no duplicate, no loss.
                try await broker.waitForCounts(of: dead, "\(total - replayed) ready, nothing unacked") {
                    $0.ready == total - replayed && $0.unacknowledged == 0
                }
                let inQueue = try await broker.pikaGet(queue: queue, browse: true).compactMap(\.message_id)
                let stillDead = try await broker.pikaGet(queue: dead, browse: true).compactMap(\.message_id)
                #expect(inQueue.count == replayed, "exactly the replayed copies in \(queue)")
                #expect(Set(inQueue).union(stillDead) == Set(ids) && Set(inQueue).isDisjoint(with: stillDead))
            }
        }
    }
}
