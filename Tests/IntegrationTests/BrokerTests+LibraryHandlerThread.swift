import Glibc
import Testing
import Warren
import WarrenAMQP

extension BrokerTests {
    @Suite("Library in-process: which thread runs the handlers")
    struct LibraryHandlerThread {
        /// With `HandlerThread.connection` a handler runs on the consuming connection's owner
        /// thread (named `warren-amqp`), before and after it suspends; with `.pool` (the
        /// default) it never does. Either way every message is acked.
        @Test("handlers run on the pool by default, and on the connection's thread when asked", arguments: HandlerThread.allCases)
        func handlersRunWhereConfigured(_ thread: HandlerThread) async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("lib.thread.\(thread.rawValue)") { queue in
                try await env.declareTopology(queue)
                try await broker.pikaPublish(queue: queue, (0..<3).map { OutgoingMessage(id: "m\($0)", body: "{}") })
                let log = InProcessLog()
                let names = InProcessRecorder<String>()
                var configuration = ConsumerConfiguration(queue: queue, queueType: .classic)
                if thread == .connection { configuration.handlerThread = .connection }
                #expect(ConsumerConfiguration(queue: queue).handlerThread == .pool, "the default")
                let consumer = WarrenConsumer(
                    configuration: configuration,
                    connection: .dedicated(try env.connection("it-lib-thread-\(uniqueSuffix())")),
                    handler: ClosureHandler { (_: [String: Int], _) in
                        names.append(Self.threadName())
                        try await Task.sleep(for: .milliseconds(1))
                        names.append(Self.threadName())
                    },
                    logger: log.logger())
                try await withInProcessWorker([consumer], log: log) { worker in
                    try await log.waitFor("message.acked", count: 3)
                    try await worker.stop()
                }
                #expect(names.count == 6, "\(log.transcript)")
                switch thread {
                case .connection: #expect(names.all.allSatisfy { $0 == "warren-amqp" }, "\(names.all)")
                case .pool: #expect(!names.all.contains("warren-amqp"), "\(names.all)")
                }
            }
        }

        /// The calling thread's name (`/proc/thread-self/comm`; Glibc's module map has no
        /// `pthread_getname_np`).
        static func threadName() -> String {
            let fd = open("/proc/thread-self/comm", O_RDONLY)
            guard fd >= 0 else { return "?" }
            defer { close(fd) }
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { return "?" }
            return String(decoding: buffer[..<count], as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        }
    }
}
