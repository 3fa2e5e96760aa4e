import Glibc
import Synchronization
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

        /// The documented cost of `.connection`: a handler that holds the connection's thread
        /// without suspending (here blocked in `usleep` until released) stops the thread from
        /// turning, so after `stallTimeout` readiness says `stalled` (naming the handler as the
        /// cause), and a second message waits.
        /// Released, both are handled and acked on the same connection and the consumer is ready
        /// again. (With `.pool` readiness never turns stalled here: the test times out.)
        @Test("a handler holding the connection's thread turns readiness stalled, and it recovers")
        func blockingHandlerStallsItsConnection() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("lib.thread.blocked") { queue in
                try await env.declareTopology(queue)
                let log = InProcessLog()
                var configuration = ConsumerConfiguration(queue: queue, queueType: .classic, concurrency: 2)
                configuration.handlerThread = .connection
                configuration.stallTimeout = .seconds(1)
                let status = WorkerStatus()
                let release = Atomic<Bool>(false)
                let handled = Atomic<Int>(0)
                let consumer = WarrenConsumer(
                    configuration: configuration,
                    connection: .dedicated(try env.connection("it-lib-thread-blocked-\(uniqueSuffix())")),
                    handler: ClosureHandler { (body: [String: String], _) in
                        if body["block"] != nil {
                            while !release.load(ordering: .relaxed) { usleep(10_000) }
                        }
                        handled.add(1, ordering: .relaxed)
                    },
                    status: status, logger: log.logger())
                try await withInProcessWorker([consumer], log: log) { worker in
                    try await log.waitFor("worker.consuming")
                    try await broker.pikaPublish(queue: queue, messages: [(id: "blocker", body: #"{"block":"yes"}"#)])
                    let stalled = try await pollValue(timeout: .seconds(15), "readiness to turn stalled") {
                        status.readiness.state == .stalled ? status.readiness : nil
                    }
                    // The reason names the handler and the setting, not a wedged call.
                    #expect(stalled.reason?.contains("a handler has held the connection's thread") == true, "\(stalled)")
                    try await broker.pikaPublish(queue: queue, messages: [(id: "behind", body: "{}")])
                    #expect(handled.load(ordering: .relaxed) == 0, "nothing runs while the thread is held")
                    release.store(true, ordering: .relaxed)
                    try await log.waitFor("message.acked", count: 2)
                    try await poll(timeout: .seconds(15), "readiness to recover") { status.readiness.isReady }
                    #expect(log.events("worker.connection_lost").isEmpty, "\(log.transcript)")
                    try await worker.stop()
                }
                #expect(handled.load(ordering: .relaxed) == 2)
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
