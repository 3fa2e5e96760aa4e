import Foundation
import Testing

extension BrokerTests.OwnNode {
    /// What the broker and the worker showed while the memory alarm was on.
    struct AlarmObservations: Sendable {
        let publisher: ChildProcess
        let workerConnection: BrokerConnection?
        let publisherConnection: BrokerConnection?
        let readyz: HTTPResponse
        let readiness: Readiness?
        let blockedGauge: Double?
    }

    /// A memory alarm (`set_vm_memory_high_watermark 0.00001`) on the node under a consuming worker.
    ///
    /// RabbitMQ 3.10 blocks only connections that publish: it sends `connection.blocked` to a
    /// publisher (and stops reading its socket) the moment it publishes, while a connection that
    /// only consumes and acks stays in state `blocking`, gets no notification and keeps working.
    /// So the worker's consuming connection is never blocked, but its own publishing connection
    /// (`…/publish`) is, as soon as a failed message's retry copy is sent on it: the worker logs
    /// `connection.blocked` (`connection: publish`), `/readyz` answers 503 `blocked` naming that
    /// connection, and `warren_connection_state{state="blocked"}` is 1. It stays up, keeps
    /// consuming what is already queued, and after the alarm clears it consumes what
    /// `warren publish` could only publish then, retries the failed messages, ready again,
    /// connection intact.
    @Test("memory alarm: publishers are blocked, the consuming worker stays up and resumes")
    func memoryAlarm() async throws {
        let node = try OwnBroker.required()
        let env = try await node.running(TestEnvironment.current())
        let broker = Broker(env)
        try await broker.withQueue("alarm") { queue in
            let total = 600
            let worker = try WarrenProcess.worker(
                env, queue: queue,
                ["--queue-type", "classic", "--log-level", "debug", "--concurrency", "5", "--prefetch", "10"])
            defer { worker.forceStop() }
            let probe = try await worker.healthProbe()
            try await probe.waitUntilReady(timeout: .seconds(20))
            let common = ["--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic"]
            let publish = try await warrenPublish(env, common + ["--count", "\(total)", "--body", #"{"work_ms": 100}"#])
            try #require(PublishSummary(publish.stdout)?.confirmed == total, "\(publish)")
            // Work for the alarm, then messages that fail (and need a retry copy): they must reach
            // the worker only once the alarm is in force. Held in a queue of their own until then,
            // they are dead-lettered into `queue` by the broker (a nack, not a publish, so the
            // alarm does not stop it). Placed behind the work instead, they were all handled
            // before a loaded machine's `rabbitmqctl` calls had the alarm in force.
            let tag = uniqueSuffix()
            let duringAlarm = (0..<100).map { "alarm-work-\($0)-\(tag)" }
            let failing = (0..<3).map { "alarm-failing-\($0)-\(tag)" }
            let holding = queue + ".held"
            try await broker.pikaDeclareQueue(
                holding, arguments: ["x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue])
            try await broker.pikaPublish(
                queue: holding,
                messages: duringAlarm.map { ($0, #"{"work_ms": 100}"#) } + failing.map { ($0, #"{"fail_until_attempt": 2}"#) })
            func distinct() -> Int { Set(worker.ackedIDs).count }
            try await poll(timeout: .seconds(20), "20 acks before the alarm") { distinct() >= 20 }

            try await broker.rabbitmqctl(["set_vm_memory_high_watermark", "0.00001"])
            let observed = try await withCleanup {
                // The alarm is in force once the connections leave state `running`.
                let before = try await pollValue(
                    timeout: .seconds(20), interval: .seconds(1), "the alarm to reach the worker's connection"
                ) {
                    let connection = try await broker.connection(ofProcess: worker.child.pid)
                    return connection.flatMap { $0.state == "running" ? nil : $0 }
                }
                // Consuming goes on during the alarm.
                let ackedAtAlarm = distinct()
                let movedIn = try await broker.pikaDeadLetterAll(queue: holding)
                #expect(movedIn == duringAlarm.count + failing.count)
                await broker.delete(queues: [holding])
                try await poll(timeout: .seconds(20), "20 more acks during the alarm", lastSeen: { worker.transcript }) {
                    distinct() >= ackedAtAlarm + 20
                }
                let publisher = try ChildProcess(
                    executable: env.warrenBinary,
                    arguments: ["publish"] + common + ["--count", "10", "--body", #"{"during_alarm": true}"#],
                    removingEnvironment: { $0.hasPrefix("WARREN_") })
                do {
                    // The broker blocks the publisher as soon as it publishes.
                    let connections = try await pollValue(
                        timeout: .seconds(20), interval: .seconds(1), "the broker to block the publishing connection"
                    ) {
                        let connections = try await broker.listConnections()
                        return connections.contains { $0.state == "blocked" } ? connections : nil
                    }
                    let workerConnection = connections.first { $0.connectionName?.hasSuffix(":\(worker.child.pid)") == true }
                    let publisherConnection = connections.first { $0.connectionName?.hasSuffix(":\(publisher.pid)") == true }
                        ?? connections.first { $0.pid != workerConnection?.pid }

                    // The failing messages' retry copies get the worker's publishing connection
                    // blocked: not ready, and /readyz says why.
                    let (readyz, readiness) = try await pollValue(
                        timeout: .seconds(60), interval: .milliseconds(200), "/readyz to report the blocked publishing connection",
                        lastSeen: { worker.transcript }
                    ) {
                        let answer = try await probe.readyz()
                        return answer.readiness?.state == "blocked" ? answer : nil
                    }
                    let blocked = try await worker.waitForEvent("connection.blocked", timeout: .seconds(5))
                    #expect(blocked["connection"] == "publish", "\(blocked)")
                    // The broker's own word: the connection it blocked is the worker's `<name>/publish`.
                    let consumingName = try #require(before.connectionName, "\(before)")
                    _ = try await broker.waitUntilBlocked(connectionNamed: consumingName + "/publish", timeout: .seconds(10))
                    let (_, metrics) = try await probe.waitForMetrics("the blocked state in /metrics") {
                        $0[#"warren_connection_state{queue="\#(queue)",state="blocked"}"#] == 1
                    }
                    let blockedGauge = metrics[#"warren_connection_state{queue="\#(queue)",state="blocked"}"#]
                    // The consuming connection itself is never blocked (it does not publish).
                    let consuming = try await broker.connection(ofProcess: worker.child.pid)
                    #expect(consuming?.state != "blocked", "\(consuming.map(\.description) ?? "none")")

                    #expect(publisher.isRunning, "warren publish is held by the broker while the alarm is on")
                    print("memory alarm: worker connection \(before.state) → \(consuming?.state ?? "?"), publisher connection \(publisherConnection?.state ?? "?"), readyz \(readyz)")
                    return AlarmObservations(
                        publisher: publisher, workerConnection: workerConnection, publisherConnection: publisherConnection,
                        readyz: readyz, readiness: readiness, blockedGauge: blockedGauge)
                } catch {
                    publisher.forceStop()
                    throw error
                }
            } cleanup: {
                // Always clear the alarm.
                do { try await broker.rabbitmqctl(["set_vm_memory_high_watermark", "0.4"]) } catch {
                    print("integration tests: could not clear the memory alarm on \(env.amqpURL): \(error)")
                }
            }
            defer { observed.publisher.forceStop() }

            #expect(observed.readyz.status == 503 && observed.readiness?.state == "blocked", "\(observed.readyz)")
            #expect(observed.readiness?.reason?.contains("publish connection blocked by the broker") == true, "\(observed.readyz)")
            #expect(observed.blockedGauge == 1)
            #expect(observed.publisherConnection?.state == "blocked", "\(observed.publisherConnection.map(\.description) ?? "none")")

            // After the alarm: the held publish completes and the worker consumes it.
            let publisherEnd = try await observed.publisher.waitForExit(timeout: .seconds(30))
            #expect(publisherEnd == .exited(0), "\(observed.publisher.stdout.text)\(observed.publisher.stderr.text)")
            #expect(PublishSummary(observed.publisher.stdout.text)?.confirmed == 10, "\(observed.publisher.stdout.text)")
            print("memory alarm: warren publish during the alarm said: \(observed.publisher.stdout.text) \(observed.publisher.stderr.text)")
            let everything = total + duringAlarm.count + 10 + failing.count
            try await poll(timeout: .seconds(90), "all \(everything) messages acked", lastSeen: { "\(distinct()) acked" }) {
                distinct() >= everything
            }
            try await probe.waitUntilReady(timeout: .seconds(10))
            // Readiness can run ahead of the log writer thread by a moment: await the line.
            try await worker.waitForEvent("connection.unblocked", timeout: .seconds(5))
            #expect(worker.events("worker.connection_lost").isEmpty, "\(worker.transcript)")
            #expect(worker.events("message.dead_lettered").isEmpty, "\(worker.transcript)")
            // A copy that timed out while blocked may still have been stored: a failing message can
            // then be handled twice. The others are acked once each.
            #expect(worker.ackedIDs.filter { !failing.contains($0) }.count == total + duringAlarm.count + 10, "each acked once")
            let (end, _) = try await worker.stop(with: SIGTERM, timeout: .seconds(20))
            #expect(end == .exited(0), "\(worker.transcript)")
        }
    }
}
