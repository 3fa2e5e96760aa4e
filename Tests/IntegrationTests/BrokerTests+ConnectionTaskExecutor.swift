import Glibc
import Synchronization
import Testing
// `perform` runs a body on the owner thread, to learn which thread that is.
@testable import WarrenAMQP

extension BrokerTests {
    @Suite("Tasks on a connection's thread")
    struct ConnectionTaskExecutorTests {
        /// A task preferring the executor runs on the owner thread of the attached connection,
        /// also after it resumed from a suspension completed elsewhere (the broker's confirm,
        /// a timer); detached, it runs elsewhere.
        @Test("jobs run on the attached connection's owner thread, and elsewhere once detached")
        func jobsRunOnTheOwnerThread() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("executor.thread") { queue in
                try await env.declareTopology(queue)
                let connection = try await AMQPConnection.connect(.init(url: try AMQPURL(env.amqpURL), connectionName: "it.executor"))
                let owner = try await connection.perform { _ in pthread_self() }
                let executor = ConnectionTaskExecutor()
                executor.attach(connection)
                let threads = await Task(executorPreference: executor) {
                    var threads = [pthread_self()]
                    try? await connection.publish(routingKey: queue, body: Array("{}".utf8))
                    threads.append(pthread_self())
                    try? await Task.sleep(for: .milliseconds(5))
                    threads.append(pthread_self())
                    return threads
                }.value
                #expect(threads.allSatisfy { pthread_equal($0, owner) != 0 }, "\(threads) vs the owner \(owner)")
                executor.detach()
                let detached = await Task(executorPreference: executor) { pthread_self() }.value
                #expect(pthread_equal(detached, owner) == 0)
                await connection.close()
            }
        }

        /// A task suspended on the executor when its connection closes still finishes: the jobs
        /// its end overtakes, or that come after, run on the global executor.
        @Test("a task suspended on the executor finishes after its connection closed")
        func taskOutlivesItsConnection() async throws {
            let env = try TestEnvironment.current()
            let connection = try await AMQPConnection.connect(.init(url: try AMQPURL(env.amqpURL), connectionName: "it.executor.close"))
            let owner = try await connection.perform { _ in pthread_self() }
            let executor = ConnectionTaskExecutor()
            executor.attach(connection)
            let (resumes, resume) = AsyncStream<Void>.makeStream()
            let started = Atomic<Bool>(false)
            let task = Task(executorPreference: executor) {
                let before = pthread_self()
                started.store(true, ordering: .releasing)
                for await _ in resumes { break }
                return (before, pthread_self())
            }
            try await poll(timeout: .seconds(10), "the task to start") { started.load(ordering: .acquiring) }
            // Closed while the task waits (the executor still attached): its resume is refused
            // by the closed mailbox and goes to the global executor.
            await connection.close()
            #expect(!connection.isOpen)
            resume.yield()
            let (before, after) = await task.value
            #expect(pthread_equal(before, owner) != 0, "started on the owner thread")
            #expect(pthread_equal(after, owner) == 0, "resumed elsewhere once the connection ended")
        }
    }
}
