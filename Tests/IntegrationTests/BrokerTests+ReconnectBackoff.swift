import Foundation
import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("WarrenConnection spaces its connect attempts by the reconnect backoff")
    struct ReconnectBackoff {
        private static func connection(port: Int, backoff: Backoff) throws -> WarrenConnection {
            WarrenConnection(ConnectionConfiguration(
                url: try AMQPURL("amqp://guest:guest@127.0.0.1:\(port)/"), connectionName: "it.reconnect-backoff",
                reconnectBackoff: backoff))
        }

        /// A broker address that closes every connection at once (each attempt fails in a few
        /// milliseconds), called in a tight loop for 3 s: attempts follow the backoff (caps 100,
        /// 200, 400 ms, …: about 16 expected), not the call rate (hundreds without it).
        @Test("a tight loop of calls against a failing broker connects at the backoff's pace")
        func tightLoopFollowsTheBackoff() async throws {
            let listener = try await BlackholeListener.start(closing: true)
            defer { listener.stop() }
            let connection = try Self.connection(port: listener.port, backoff: Backoff(initial: .milliseconds(100), maximum: .milliseconds(400)))
            let end = ContinuousClock.now + .seconds(3)
            var calls = 0
            while ContinuousClock.now < end {
                calls += 1
                _ = try? await connection.connection()
            }
            await connection.close()
            // The listener prints each accept; give its pipe a moment to deliver the last lines.
            try await Task.sleep(for: .milliseconds(200))
            let attempts = listener.acceptedConnections
            #expect(attempts >= 3, "it keeps trying: \(attempts) attempts in \(calls) calls")
            #expect(attempts <= 60, "attempts follow the backoff, not the \(calls) calls: \(attempts)")
        }

        /// A broker address that accepts and never answers (connect timeout 10 s): publishes with a
        /// 50 ms timeout, one after another for 2 s, all join the one attempt in flight instead of
        /// each starting its own connection and owner thread.
        @Test("timed-out publishes to a hung broker share one connect attempt")
        func hungAttemptIsShared() async throws {
            let blackhole = try await BlackholeListener.start()
            defer { blackhole.stop() }
            let connection = try Self.connection(port: blackhole.port, backoff: Backoff(initial: .milliseconds(100), maximum: .milliseconds(400)))
            let end = ContinuousClock.now + .seconds(2)
            var timeouts = 0
            while ContinuousClock.now < end {
                do {
                    try await connection.publish(Array("{}".utf8), routingKey: "nowhere", timeout: .milliseconds(50))
                } catch is PublishTimeout {
                    timeouts += 1
                }
            }
            try await Task.sleep(for: .milliseconds(200))
            #expect(timeouts >= 10, "\(timeouts)")
            #expect(blackhole.acceptedConnections == 1, "one attempt for \(timeouts) timed-out publishes")
            let closing = ContinuousClock.now
            await connection.close()
            #expect(closing.duration(to: .now) < .seconds(2), "close() does not wait for the hung attempt")
        }

        /// While the next attempt waits out a long backoff (cap 20 s), a cancelled caller returns
        /// at once, and `close()` ends the other waiting callers at once without another attempt.
        @Test("a cancelled caller and close() end the backoff wait at once")
        func waitEndsAtOnce() async throws {
            let listener = try await BlackholeListener.start(closing: true)
            defer { listener.stop() }
            let connection = try Self.connection(port: listener.port, backoff: Backoff(initial: .seconds(20), maximum: .seconds(20)))
            await #expect(throws: (any Error).self) { try await connection.connection() }
            try await poll(timeout: .seconds(5), "the first attempt's accept") { listener.acceptedConnections == 1 }

            let cancelled = Task { try await connection.connection() }
            let others = (0..<3).map { _ in Task { try await connection.connection() } }
            try await Task.sleep(for: .milliseconds(300))
            // The jitter may (rarely) have made the wait shorter than 300 ms: then there was a
            // second attempt, and the waits below are not in the backoff.
            let waitedOut = listener.acceptedConnections == 1

            var started = ContinuousClock.now
            cancelled.cancel()
            let cancelledResult = await cancelled.result
            #expect(started.duration(to: .now) < .seconds(1), "the cancelled caller returned at once")
            if waitedOut {
                #expect(throws: CancellationError.self) { try cancelledResult.get() }
            }

            started = .now
            await connection.close()
            for other in others {
                let result = await other.result
                if waitedOut {
                    #expect(throws: AMQPError.self) { try result.get() }
                }
            }
            #expect(started.duration(to: .now) < .seconds(1), "close() ended the waiting callers at once")
            try await Task.sleep(for: .milliseconds(300))
            if waitedOut {
                #expect(listener.acceptedConnections == 1, "no attempt after close()")
            }
        }
    }
}
