import Glibc
import Synchronization
import Testing
// `perform` holds the owner thread so the burst reaches it as one batch, and reads its socket.
@testable import WarrenAMQP

extension BrokerTests {
    @Suite("Publishes of one turn leave together")
    struct CorkedPublishes {
        /// 200 publishes taken by the owner thread in one turn are written into a corked socket
        /// and leave together when the turn ends; the broker confirms all 200, and a
        /// `queue.declare` sent right after is answered (nothing waits behind a cork).
        @Test("200 publishes of one turn leave in a few TCP segments, all confirmed, and the next RPC is answered")
        func burstLeavesTogether() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("corked") { queue in
                try await env.declareTopology(queue)
                let connection = try await AMQPConnection.connect(.init(url: try AMQPURL(env.amqpURL), connectionName: "it.corked"))
                // Hold the owner thread inside a command while the burst is queued.
                let release = Atomic<Bool>(false)
                let segmentsBefore = Atomic<Int>(-1)
                let hold = Task {
                    try await connection.perform { loop in
                        segmentsBefore.store(Self.dataSegmentsOut(loop.raw.socketFD), ordering: .relaxed)
                        while !release.load(ordering: .relaxed) { usleep(1_000) }
                    }
                }
                try await poll(timeout: .seconds(10), "the owner thread to be held") {
                    segmentsBefore.load(ordering: .relaxed) != -1
                }
                let before = segmentsBefore.load(ordering: .relaxed)
                try #require(before >= 0, "TCP_INFO without tcpi_data_segs_out (Linux < 4.6)")
                let confirmations = (0..<200).map { index in
                    connection.enqueuePublish(routingKey: queue, body: Array(#"{"n":\#(index)}"#.utf8))
                }
                #expect(connection.queuedCommandCount == 200)
                release.store(true, ordering: .relaxed)
                try await hold.value
                for confirmation in confirmations { try await confirmation.wait() }
                let after = try await connection.perform { loop in Self.dataSegmentsOut(loop.raw.socketFD) }
                let (messages, _) = try await connection.inspectQueue(queue)
                #expect(messages == 200)
                // Corked, the burst's ~7 kB leave in one segment. Uncorked, this project's
                // machine sent 17 and 205 in two runs: Linux merges writes of a tight burst on
                // its own only while an earlier segment is still queued (autocorking).
                #expect(after - before <= 3, "data segments sent for the burst: \(after - before)")
                #expect(connection.isOpen, "\(String(describing: connection.closeReason))")
                await connection.close()
            }
        }

        /// `tcpi_data_segs_out` of the socket: segments sent that carried data (not pure ACKs).
        /// Glibc's `struct tcp_info` ends before it; the kernel's has it at byte 156 (Linux ≥
        /// 4.6). -2 when the kernel's answer is shorter.
        static func dataSegmentsOut(_ socket: Int32) -> Int {
            var buffer = [UInt8](repeating: 0, count: 256)
            var length = socklen_t(buffer.count)
            let status = buffer.withUnsafeMutableBytes { getsockopt(socket, Int32(IPPROTO_TCP), TCP_INFO, $0.baseAddress, &length) }
            guard status == 0, length >= 160 else { return -2 }
            return Int(buffer.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 156, as: UInt32.self) })
        }
    }
}
