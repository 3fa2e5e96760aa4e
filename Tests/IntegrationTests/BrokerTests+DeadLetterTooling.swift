import Foundation
import Testing

extension BrokerTests {
    @Suite("Dead-letter tooling: warren dlq")
    struct DeadLetterTooling {
        /// Dead-letters `messages` the way production does: a worker (demo handler) on a classic
        /// `queue` copies them to `queue.dead` with its error headers. Returns once they are all
        /// there and the worker has stopped.
        private func deadLetterThroughWorker(
            _ env: TestEnvironment, _ broker: Broker, queue: String, _ messages: [(id: String, body: String)]
        ) async throws {
            let worker = try WarrenProcess.worker(env, queue: queue, ["--queue-type", "classic"])
            defer { worker.forceStop() }
            try await worker.waitForEvent("worker.consuming")
            try await broker.pikaPublish(queue: queue, messages: messages)
            try await poll(timeout: .seconds(20), "\(messages.count) message.dead_lettered lines", lastSeen: { worker.transcript }) {
                worker.events("message.dead_lettered").count == messages.count
            }
            let (termination, _) = try await worker.stop()
            #expect(termination == .exited(0), "\(worker.transcript)")
            try await broker.waitForCounts(of: queue + ".dead", "\(messages.count) ready") { $0.ready == messages.count }
        }

        /// Publishes straight into `queue.dead`, as Warren's own dead-lettering (with
        /// `x-warren-error-type`) does.
        private func seedDead(_ broker: Broker, queue: String, _ messages: [OutgoingMessage]) async throws {
            try await broker.pikaPublish(queue: queue + ".dead", messages)
        }

        private func failed(_ id: String, type: String, body: String = "{}") -> OutgoingMessage {
            OutgoingMessage(id: id, body: body, correlationID: "corr-\(id)", headers: [
                "x-warren-error-type": .string(type), "x-warren-error-message": .string("it failed"),
                "x-warren-attempts": .int(3), "x-warren-attempt": .int(3),
                "x-warren-failed-at": .string("2026-01-01T00:00:00Z"), "tenant": .string("acme"),
            ])
        }

        /// Lets the broker itself dead-letter `count` messages (as it does when Warren's copy
        /// fails, or at a quorum queue's delivery limit): they expire in `queue`, which has no
        /// consumer, and arrive in `queue.dead` with `x-death` reason `expired` and no Warren header.
        private func expireIntoDead(_ broker: Broker, queue: String, ids: [String], deadAfter total: Int) async throws {
            var messages = ids.map { OutgoingMessage(id: $0, body: "{}") }
            for index in messages.indices { messages[index].expiration = "1" }
            try await broker.pikaPublish(queue: queue, messages)
            try await broker.waitForCounts(of: queue + ".dead", "\(total) ready") { $0.ready == total }
        }

        /// Nothing read was removed: every message is back, ready, none held unacked.
        private func expectUntouched(_ broker: Broker, _ queue: String, _ count: Int) async throws {
            let counts = try await broker.waitForCounts(of: queue, "\(count) ready, 0 unacked") {
                $0.ready == count && $0.unacknowledged == 0
            }
            #expect(counts.messages == count)
        }

        /// Reasons come from `x-warren-error-type` (the worker's copies) and from the broker's
        /// `x-death` (header wins); counts are exact and ranked; nothing is removed.
        @Test("stats counts per reason, most frequent first, and removes nothing")
        func stats() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("dlq-stats") { queue in
                let tag = uniqueSuffix()
                try await deadLetterThroughWorker(env, broker, queue: queue, [
                    (id: "p1-\(tag)", body: #"{"fail":"permanent"}"#), (id: "p2-\(tag)", body: #"{"fail":"permanent"}"#),
                    (id: "nj-\(tag)", body: "not json"),
                ])
                try await expireIntoDead(broker, queue: queue, ids: (0..<3).map { "x\($0)-\(tag)" }, deadAfter: 6)
                try await seedDead(broker, queue: queue,
                                   (0..<4).map { failed("d\($0)-\(tag)", type: "DemoFailure") } + [failed("t-\(tag)", type: "Timeout")]
                                   + [OutgoingMessage(id: "plain-\(tag)", body: "{}")])

                let text = try await warrenDlq(env, "stats", queue: queue)
                #expect(text.succeeded, "\(text)")
                #expect(text.stdout == "   6  DemoFailure\n   3  expired\n   1  Timeout\n   1  UndecodableMessage\n   1  unknown\n  12  total\n",
                        "\(text)")
                let json = try await warrenDlq(env, "stats", queue: queue, ["--json"])
                #expect(json.succeeded, "\(json)")
                let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
                #expect(object?["queue"] as? String == queue + ".dead", "\(json)")
                #expect(object?["total"] as? Int == 12, "\(json)")
                #expect(object?["reasons"] as? [String: Int] == [
                    "DemoFailure": 6, "expired": 3, "Timeout": 1, "UndecodableMessage": 1, "unknown": 1,
                ], "\(json)")
                try await expectUntouched(broker, queue + ".dead", 12)
                // Stats run twice, the messages read are the same: still all twelve, with their ids.
                let ids = Set(try await broker.pikaGet(queue: queue + ".dead", browse: true).compactMap(\.message_id))
                #expect(ids.count == 12)
            }
        }

        /// N parseable lines in queue order with ids, properties, all headers (x-death as JSON),
        /// text bodies as text and binary ones as base64; nothing removed.
        @Test("peek prints N JSON lines with headers, properties and body, and removes nothing")
        func peek() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("dlq-peek") { queue in
                let tag = uniqueSuffix()
                try await deadLetterThroughWorker(env, broker, queue: queue, [(id: "nj-\(tag)", body: "not json")])
                try await expireIntoDead(broker, queue: queue, ids: ["x-\(tag)"], deadAfter: 2)
                let binary: [UInt8] = [0xFF, 0x00, 0x80, 0x41]
                try await seedDead(broker, queue: queue, [
                    failed("json-\(tag)", type: "DemoFailure", body: #"{"order":"a\"b"}"#),
                    OutgoingMessage(id: "bin-\(tag)", bytes: binary, contentType: "application/octet-stream"),
                ])

                let two = try await warrenDlq(env, "peek", queue: queue, ["--count", "2"])
                #expect(two.succeeded, "\(two)")
                #expect(two.stdout.split(separator: "\n").count == 2, "\(two)")

                let all = try await warrenDlq(env, "peek", queue: queue, ["--count", "10"])
                #expect(all.succeeded, "\(all)")
                let lines = try all.stdout.split(separator: "\n").map {
                    try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
                }
                try #require(lines.count == 4, "\(all)")
                #expect(lines.map { $0["message_id"] as? String } == ["nj-\(tag)", "x-\(tag)", "json-\(tag)", "bin-\(tag)"])

                let undecodable = lines[0]
                #expect(undecodable["reason"] as? String == "UndecodableMessage")
                #expect(undecodable["body"] as? String == "not json")
                let warrenHeaders = undecodable["headers"] as? [String: Any]
                #expect(warrenHeaders?["x-warren-original-routing-key"] as? String == queue, "\(undecodable)")

                let expired = lines[1]
                #expect(expired["reason"] as? String == "expired")
                let deaths = (expired["headers"] as? [String: Any])?["x-death"] as? [[String: Any]]
                #expect(deaths?.first?["reason"] as? String == "expired", "\(expired)")
                #expect(deaths?.first?["queue"] as? String == queue, "\(expired)")
                #expect((deaths?.first?["count"] as? Int) == 1, "\(expired)")

                let json = lines[2]
                #expect(json["reason"] as? String == "DemoFailure")
                #expect(json["body"] as? String == #"{"order":"a\"b"}"#)
                let properties = json["properties"] as? [String: Any]
                #expect(properties?["content_type"] as? String == "application/json", "\(json)")
                #expect(properties?["correlation_id"] as? String == "corr-json-\(tag)", "\(json)")
                #expect(properties?["delivery_mode"] as? Int == 2, "\(json)")
                #expect(properties?["message_id"] == nil && properties?["reply_to"] == nil, "only the properties set: \(json)")
                let headers = json["headers"] as? [String: Any]
                #expect(headers?["tenant"] as? String == "acme", "\(json)")
                #expect(headers?["x-warren-attempts"] as? Int == 3, "\(json)")

                let bin = lines[3]
                #expect(bin["body"] == nil, "\(bin)")
                #expect(bin["body_base64"] as? String == Data(binary).base64EncodedString(), "\(bin)")
                #expect(bin["reason"] as? String == "unknown")

                try await expectUntouched(broker, queue + ".dead", 4)
            }
        }

        /// The first N move (FIFO), then only the chosen reason, then the rest; copies keep ids,
        /// bodies, properties and other headers, lose the failure/death headers, gain
        /// x-warren-replayed-at; the originals leave Q.dead only after that.
        @Test("replay --count, --where-error-type and --all move the right messages and reset their headers")
        func replay() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("dlq-replay") { queue in
                let tag = uniqueSuffix()
                let dead = queue + ".dead"
                try await deadLetterThroughWorker(env, broker, queue: queue, [(id: "p1-\(tag)", body: #"{"fail":"permanent"}"#)])
                try await seedDead(broker, queue: queue, [
                    failed("a1-\(tag)", type: "DemoFailure", body: #"{"n":1}"#), failed("a2-\(tag)", type: "DemoFailure"),
                    failed("a3-\(tag)", type: "DemoFailure"), failed("b1-\(tag)", type: "Timeout"),
                ])
                let reset = ["x-death", "x-first-death-exchange", "x-first-death-queue", "x-first-death-reason",
                             "x-warren-attempt", "x-warren-attempts", "x-warren-error-type", "x-warren-error-message",
                             "x-warren-failed-at"]
                func expectReplayed(_ moved: [PikaMessage]) {
                    for message in moved {
                        #expect(message.headerNames.contains("x-warren-replayed-at"), "\(message)")
                        #expect(!message.headerNames.contains { reset.contains($0) || $0.hasPrefix("x-last-death-") }, "\(message)")
                        #expect(message.delivery_mode == 2, "\(message)")
                        let stamp = message.headers["x-warren-replayed-at"] ?? ""
                        #expect(stamp.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/) != nil, "RFC 3339 UTC: \(stamp)")
                    }
                }

                // --count 2, one at a time: the two oldest.
                let first = try await warrenDlq(env, "replay", queue: queue, ["--count", "2", "--batch", "1"])
                #expect(first.succeeded, "\(first)")
                #expect(first.stdout.contains("replayed 2, kept 0"), "\(first)")
                let moved = try await broker.pikaGet(queue: queue, max: 10)
                #expect(moved.map(\.message_id) == ["p1-\(tag)", "a1-\(tag)"], "\(moved)")
                expectReplayed(moved)
                #expect(moved.first.map { String(decoding: $0.bodyBytes, as: UTF8.self) } == #"{"fail":"permanent"}"#)
                #expect(moved.last.map { String(decoding: $0.bodyBytes, as: UTF8.self) } == #"{"n":1}"#)
                #expect(moved.last?.headers["tenant"] == "acme" && moved.last?.correlation_id == "corr-a1-\(tag)", "\(moved)")
                #expect(moved.last?.content_type == "application/json")
                try await expectUntouched(broker, dead, 3)

                // Only Timeout: the DemoFailure ones stay, in order.
                let timeout = try await warrenDlq(env, "replay", queue: queue, ["--all", "--where-error-type", "Timeout"])
                #expect(timeout.succeeded, "\(timeout)")
                #expect(timeout.stdout.contains("replayed 1, kept 2"), "\(timeout)")
                let timeouts = try await broker.pikaGet(queue: queue, max: 10)
                #expect(timeouts.map(\.message_id) == ["b1-\(tag)"], "\(timeouts)")
                expectReplayed(timeouts)
                try await expectUntouched(broker, dead, 2)

                // --all: the rest.
                let rest = try await warrenDlq(env, "replay", queue: queue, ["--all"])
                #expect(rest.succeeded, "\(rest)")
                #expect(rest.stdout.contains("replayed 2, kept 0"), "\(rest)")
                let last = try await broker.pikaGet(queue: queue, max: 10)
                #expect(last.map(\.message_id) == ["a2-\(tag)", "a3-\(tag)"], "\(last)")
                expectReplayed(last)
                try await expectUntouched(broker, dead, 0)
            }
        }

        /// SIGKILL lands after some confirmed batches: every message is in Q or Q.dead (or
        /// both), never neither; a second replay moves the rest.
        @Test("a replay interrupted by SIGKILL loses nothing")
        func replayKilled() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("dlq-kill") { queue in
                let tag = uniqueSuffix()
                let dead = queue + ".dead"
                let total = 300
                try await env.declareTopology(queue)
                let ids = (0..<total).map { "k\($0)-\(tag)" }
                try await seedDead(broker, queue: queue, ids.map { failed($0, type: "DemoFailure") })
                try await broker.waitForCounts(of: dead, "\(total) ready") { $0.ready == total }

                let counter = try await DeadLetterToolingCounter.open(env)
                let replay = try WarrenProcess.launch(
                    env, ["dlq", "replay"] + dlqBrokerArguments(env, queue: queue) + ["--all", "--batch", "10"])
                defer { replay.forceStop() }
                let seen = try await pollValue(timeout: .seconds(30), interval: .milliseconds(2), "copies in \(queue)",
                                               lastSeen: { replay.transcript }) {
                    let ready = try await counter.ready(queue)
                    return ready > 0 ? ready : nil
                }
                replay.send(SIGKILL)
                await counter.close()
                let termination = try await replay.waitForExit()
                #expect(termination == .signaled(SIGKILL), "killed mid-replay, not finished: \(replay.transcript)")

                // The broker requeues what the killed connection held; then look without taking.
                try await broker.waitForCounts(of: dead, "nothing unacked") { $0.unacknowledged == 0 }
                let inQueue = try await broker.pikaGet(queue: queue, browse: true).compactMap(\.message_id)
                let stillDead = try await broker.pikaGet(queue: dead, browse: true).compactMap(\.message_id)
                #expect(Set(inQueue).union(stillDead) == Set(ids), "every id in \(queue) or \(dead)")
                #expect(inQueue.count + stillDead.count >= total)
                #expect(!inQueue.isEmpty && !stillDead.isEmpty,
                        "killed part-way (saw \(seen) copies): \(inQueue.count) in Q, \(stillDead.count) in Q.dead")

                let second = try await warrenDlq(env, "replay", queue: queue, ["--all", "--batch", "10"])
                #expect(second.succeeded, "\(second)")
                #expect(second.stdout.contains("replayed \(stillDead.count), kept 0"), "\(second)")
                try await expectUntouched(broker, dead, 0)
                let final = try await broker.pikaGet(queue: queue, max: 2 * total).compactMap(\.message_id)
                #expect(Set(final) == Set(ids))
            }
        }

        /// Without --yes nothing is deleted (exit 64, the count named); with it, everything.
        @Test("purge refuses without --yes and purges with it")
        func purge() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("dlq-purge") { queue in
                try await env.declareTopology(queue)
                let tag = uniqueSuffix()
                try await seedDead(broker, queue: queue, (0..<3).map { failed("x\($0)-\(tag)", type: "DemoFailure") })
                try await expectUntouched(broker, queue + ".dead", 3)

                let refused = try await warrenDlq(env, "purge", queue: queue)
                #expect(refused.termination == .exited(64), "\(refused)")
                #expect(refused.stderr.contains("3 message") && refused.stderr.contains("--yes"), "\(refused)")
                try await expectUntouched(broker, queue + ".dead", 3)

                let purged = try await warrenDlq(env, "purge", queue: queue, ["--yes"])
                #expect(purged.succeeded, "\(purged)")
                #expect(purged.stdout == "purged 3\n", "\(purged)")
                try await expectUntouched(broker, queue + ".dead", 0)
            }
        }

        /// A missing Q.dead and an unreachable broker are one clear line and exit 1, the
        /// password never shown.
        @Test("a missing dead-letter queue or broker is one line on stderr and exit 1")
        func errors() async throws {
            let env = try TestEnvironment.current()
            let queue = "it.dlq-missing.\(uniqueSuffix())"
            let missing = try await warrenDlq(env, "stats", queue: queue)
            #expect(missing.termination == .exited(1), "\(missing)")
            #expect(missing.stderr.contains("'\(queue).dead' does not exist"), "\(missing)")

            let unreachable = try await runTool(
                env.warrenBinary, ["dlq", "peek", "--amqp-url", "amqp://guest:s3cret@127.0.0.1:1/", "--queue", queue],
                removingEnvironment: { $0.hasPrefix("WARREN_") }, timeout: .seconds(30))
            #expect(unreachable.termination == .exited(1), "\(unreachable)")
            #expect(unreachable.stderr.contains("cannot connect"), "\(unreachable)")
            #expect(!unreachable.output.contains("s3cret"), "\(unreachable)")
        }
    }
}
