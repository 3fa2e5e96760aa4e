import Testing

extension BrokerTests {
    /// The broker's `consumer_timeout`, made short on a node of the suite's own (it is a node-wide
    /// setting: the shared broker and the other own-node tests must not see it).
    @Suite("consumer_timeout (own broker node)", .ownBroker)
    struct ConsumerTimeout {
        /// A handler that runs past the broker's `consumer_timeout` makes the broker close the
        /// channel with `406 PRECONDITION_FAILED` after every connect, and no message is ever
        /// acked in between: a refusal repeating at run time. The worker must not reconnect
        /// forever; it ends loudly with exit 69 after `--max-refused-attempts` of them (once the
        /// 4 s handler, abandoned with its channel, has finished).
        @Test("a channel closed by consumer_timeout after every connect ends the worker with exit 69")
        func repeatingRuntimeRefusalEndsTheWorker() async throws {
            let node = try OwnBroker.required()
            let env = try await node.running(TestEnvironment.current())
            let broker = Broker(env)
            // Read by each channel as it opens: 1 s to ack, checked every 200 ms.
            try await broker.rabbitmqctl([
                "eval", "application:set_env(rabbit, consumer_timeout, 1000), application:set_env(rabbit, channel_tick_interval, 200).",
            ])
            try await broker.withQueue("consumer-timeout") { queue in
                try await env.declareTopology(queue)
                try await broker.pikaPublish(queue: queue, messages: [("slow-\(uniqueSuffix())", #"{"work_ms": 4000}"#)])
                let worker = try WarrenProcess.launch(env, [
                    "worker", "--amqp-url", env.amqpURL, "--queue", queue, "--queue-type", "classic", "--prefetch", "1",
                    "--concurrency", "1", "--max-refused-attempts", "2", "--reconnect-initial-delay", "100ms",
                    "--shutdown-timeout", "1s",
                ])
                defer { worker.forceStop() }
                let termination = try await worker.waitForExit(timeout: .seconds(60))
                #expect(termination == .exited(69), "\(worker.transcript)")
                let lost = worker.lines.filter { $0.event == "worker.connection_lost" }
                #expect(lost.count >= 2, "\(worker.transcript)")
                #expect(lost.allSatisfy { $0["error"]?.contains("406") == true }, "\(lost.map(\.raw))")
                let failed = try #require(worker.lines.last { $0.event == "worker.failed" }, "\(worker.transcript)")
                #expect(failed.raw.contains("406"), "\(failed.raw)")
            }
        }
    }
}
