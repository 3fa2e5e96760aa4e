import Foundation
import Testing
import Warren

extension BrokerTests {
    @Suite("Observability: a real worker's log lines and /metrics")
    struct Observability {
        /// A worker whose password comes from a `_FILE` secret (the URL has none), at trace level,
        /// and a `warren publish` whose whole URL comes from `WARREN_AMQP_URL_FILE`: a failing
        /// message published by pika with a correlation id and a `traceparent` gets exactly one
        /// line naming its error — the outcome line, with every scope field and the error's type
        /// and description — and no line of either program contains the password.
        @Test("the outcome line carries the message's scope and error once; a _FILE password is never printed")
        func outcomeLineScopeAndFileSecret() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let user = "warrenobs-\(uniqueSuffix())"
            let password = "Fp" + uniqueSuffix() + "Qz" + uniqueSuffix()
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warren-secret-\(uniqueSuffix())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let passwordFile = directory.appendingPathComponent("amqp-password").path
            let urlFile = directory.appendingPathComponent("amqp-url").path
            // Secret files usually end with a newline: it must not become part of the password.
            try (password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
            try (env.url(user: user, password: password) + "\n").write(toFile: urlFile, atomically: true, encoding: .utf8)

            try await broker.addUser(user, password: password)
            try await withCleanup {
                try await broker.withQueue("observability") { queue in
                    let worker = try WarrenProcess.launch(
                        env, ["worker", "--queue", queue, "--log-level", "trace"],
                        environment: ["WARREN_AMQP_URL": "amqp://\(user)@\(env.hostAndPort)/", "WARREN_AMQP_PASSWORD_FILE": passwordFile])
                    defer { worker.forceStop() }
                    try await worker.waitForEvent("worker.consuming")

                    let publish = try await warrenPublish(env, ["--queue", queue, "--count", "2"], environment: ["WARREN_AMQP_URL_FILE": urlFile])
                    #expect(publish.succeeded, "\(publish)")
                    let tag = uniqueSuffix()
                    let failing = "obs-fail-\(tag)", correlation = "obs-corr-\(tag)"
                    let trace = TraceHeaders.newTrace()
                    try await broker.pikaPublish(queue: queue, [
                        OutgoingMessage(
                            id: failing, body: #"{"fail":"permanent"}"#, correlationID: correlation,
                            headers: ["traceparent": .string(trace.traceParent)]),
                    ])
                    let outcome = try await worker.waitForLine(timeout: .seconds(20), "the dead-lettered line of \(failing)") {
                        $0.event == "message.dead_lettered" && $0["message_id"] == failing
                    }
                    try await poll(timeout: .seconds(20), "2 acks", lastSeen: { worker.transcript }) {
                        worker.events("message.acked").count >= 2
                    }
                    let expected = [
                        "queue": queue, "message_id": failing, "correlation_id": correlation, "redelivered": "false",
                        "attempt": "1", "trace_id": trace.traceID, "error_type": "DemoFailure",
                        "reason": "demo failure requested: permanent", "dead_letter_reason": "handler_error", "level": "warning",
                    ]
                    for (key, value) in expected {
                        #expect(outcome[key] == value, "\(key) in \(outcome)")
                    }
                    #expect(outcome["delivery_tag"].flatMap { UInt64($0) }.map { $0 > 0 } == true, "\(outcome)")
                    let naming = worker.lines.filter { $0.raw.contains("demo failure requested") }
                    #expect(naming.count == 1, "the error is logged once:\n\(naming)")

                    worker.send(SIGTERM)
                    #expect(try await worker.waitForExit() == .exited(0), "\(worker.transcript)")
                    // Debug lines carry their source location.
                    #expect(worker.lines.contains { $0["level"] == "debug" && $0["file"] != nil && $0["line"] != nil }, "\(worker.transcript)")
                    let output = worker.allOutputLines.map { ("worker", $0) }
                        + publish.output.split(separator: "\n").map { ("publish", String($0)) }
                    #expect(output.count > 10)
                    for (source, line) in output {
                        #expect(!line.contains(password), "\(source) printed the password: \(line)")
                    }
                }
            } cleanup: {
                await broker.deleteUser(user)
                try? FileManager.default.removeItem(at: directory)
            }
        }

        /// After 20 messages (15 handled, 4 failing, 1 undecodable), the worker's `/metrics`
        /// (Prometheus text format) counts exactly those outcomes, the histogram counted 20
        /// handlings, nothing is in flight, and the connection-state gauge reads `consuming`;
        /// `warren publish --metrics-file` wrote its confirms.
        @Test("/metrics counts received, acked and dead-lettered messages and their handling times")
        func metricsMatchWhatWasHandled() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("metrics") { queue in
                let worker = try WarrenProcess.worker(env, queue: queue, ["--log-level", "debug"])
                defer { worker.forceStop() }
                let probe = try await worker.healthProbe()
                try await worker.waitForEvent("worker.consuming")
                let metricsFile = FileManager.default.temporaryDirectory.appendingPathComponent("warren-publish-\(uniqueSuffix()).prom").path
                defer { try? FileManager.default.removeItem(atPath: metricsFile) }
                let batches: [(count: Int, body: String)] = [(15, "{}"), (4, #"{"fail":"permanent"}"#), (1, "not json")]
                let publishedFrom = ContinuousClock.now
                for (index, batch) in batches.enumerated() {
                    let file = index == 0 ? ["--metrics-file", metricsFile] : []
                    let result = try await warrenPublish(
                        env, ["--amqp-url", env.amqpURL, "--queue", queue, "--count", "\(batch.count)", "--body", batch.body] + file)
                    #expect(result.succeeded, "\(result)")
                }
                try await poll(timeout: .seconds(20), "20 outcomes", lastSeen: { worker.transcript }) {
                    worker.events("message.acked").count + worker.events("message.dead_lettered").count >= 20
                }

                let labels = #"queue="\#(queue)""#
                // The in-flight gauge drops just after a message's outcome line: wait for it.
                let (response, metrics) = try await probe.waitForMetrics("in-flight back to 0") {
                    $0["warren_messages_in_flight{\(labels)}"] == 0
                }
                #expect(response.status == 200)
                #expect(response.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true, "\(response.headers)")
                let expected: [(String, Double)] = [
                    ("warren_messages_received_total{\(labels)}", 20),
                    ("warren_messages_acked_total{\(labels)}", 15),
                    (#"warren_messages_dead_lettered_total{\#(labels),reason="handler_error"}"#, 4),
                    (#"warren_messages_dead_lettered_total{\#(labels),reason="undecodable"}"#, 1),
                    (#"warren_messages_dead_lettered_total{\#(labels),reason="handler_timeout"}"#, 0),
                    (#"warren_messages_requeued_total{\#(labels),reason="unstarted"}"#, 0),
                    (#"warren_messages_requeued_total{\#(labels),reason="copy_failed"}"#, 0),
                    ("warren_handler_duration_seconds_count{\(labels)}", 20),
                    (#"warren_handler_duration_seconds_bucket{\#(labels),le="+Inf"}"#, 20),
                    ("warren_messages_in_flight{\(labels)}", 0),
                    // `warren publish` stamps `timestamp_in_ms`: every message has an age.
                    ("warren_message_age_seconds_count{\(labels)}", 20),
                    (#"warren_connection_state{\#(labels),state="consuming"}"#, 1),
                    (#"warren_connection_state{\#(labels),state="reconnecting"}"#, 0),
                    ("warren_reconnects_total{\(labels)}", 0),
                ]
                for (series, value) in expected {
                    #expect(metrics[series] == value, "\(series) in:\n\(response.body)")
                }
                #expect(response.body.contains("# TYPE warren_handler_duration_seconds histogram"), "\(response.body)")
                // Ages are seconds, not milliseconds read as seconds: none can be older than the
                // time since the first publish began (plus 1 ms each: the header has millisecond resolution).
                let window = publishedFrom.duration(to: .now)
                let ageSum = try #require(metrics["warren_message_age_seconds_sum{\(labels)}"])
                #expect(ageSum > 0 && ageSum <= 20 * (Double(window.components.seconds) + Double(window.components.attoseconds) / 1e18 + 0.001),
                        "age sum \(ageSum) s for 20 messages published within \(window)")

                let published = PrometheusSamples(try String(contentsOfFile: metricsFile, encoding: .utf8))
                #expect(published[#"warren_publish_confirms_total{result="ack"}"#] == 15)
                #expect(published[#"warren_publish_confirms_total{result="nack"}"#] == 0)
            }
        }
    }
}
