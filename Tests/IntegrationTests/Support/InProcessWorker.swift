import Logging
import ServiceLifecycle
import Synchronization
import Warren
import WarrenAMQP

/// Warren services (`WarrenConnection`s, `WarrenConsumer`s) running in a `ServiceGroup` inside
/// the test process: the library as an application embeds it, without the `warren` binary.
///
/// ```swift
/// let log = InProcessLog()
/// let consumer = WarrenConsumer(configuration: …, connection: .dedicated(env.connection("orders")), handler: …,
///                               logger: log.logger())
/// try await withInProcessWorker([consumer], log: log) { worker in
///     try await log.waitFor("worker.consuming")
///     …
///     let elapsed = try await worker.stop()   // graceful shutdown, bounded
/// }
/// ```
///
/// The group has no signal handling; `stop()` calls `ServiceGroup.triggerGracefulShutdown()`.
/// The group runs on its own task rather than a child of the test's: a shutdown that hangs
/// (the bug a test may be looking for) then fails the test with a `TimeoutError` instead of
/// hanging the whole suite; the stuck task is cancelled and left behind.
final class InProcessWorker: Sendable {
    let group: ServiceGroup
    let log: InProcessLog
    private let ending = Mutex<Ending>(Ending())
    private let runner = Mutex<Task<Void, Never>?>(nil)

    private struct Ending {
        var shutdownRequestedAt: ContinuousClock.Instant?
        var result: Result<Void, any Error>?
    }

    fileprivate init(_ services: [any Service], log: InProcessLog) {
        var configuration = ServiceGroupConfiguration(services: services, logger: log.logger(label: "service-group"))
        // A graceful shutdown stuck longer than this escalates to cancellation (never hangs).
        configuration.maximumGracefulShutdownDuration = .seconds(20)
        group = ServiceGroup(configuration: configuration)
        self.log = log
    }

    fileprivate func start() {
        let group = self.group
        let task = Task {
            let result: Result<Void, any Error>
            do {
                try await group.run()
                result = .success(())
            } catch {
                result = .failure(error)
            }
            self.ending.withLock { $0.result = result }
        }
        runner.withLock { $0 = task }
    }

    /// True once `ServiceGroup.run()` returned or threw.
    var hasEnded: Bool { ending.withLock { $0.result != nil } }

    /// Triggers a graceful shutdown and waits for the group to end; returns how long that took.
    /// Throws what the group threw, or `TimeoutError` when it did not end within `timeout`.
    @discardableResult
    func stop(timeout: Duration = .seconds(15)) async throws -> Duration {
        let requested = ending.withLock { state -> ContinuousClock.Instant in
            if state.shutdownRequestedAt == nil { state.shutdownRequestedAt = .now }
            return state.shutdownRequestedAt!
        }
        await group.triggerGracefulShutdown()
        try await waitUntilEnded(timeout: timeout).get()
        return requested.duration(to: .now)
    }

    /// Waits (bounded) for the group to end, however it ends.
    func waitUntilEnded(timeout: Duration) async throws -> Result<Void, any Error> {
        try await pollValue(timeout: timeout, interval: .milliseconds(20), "the service group to end", lastSeen: { self.log.transcript }) {
            self.ending.withLock { $0.result }
        }
    }

    /// After a failed test: ask for a graceful shutdown, wait a little, then cancel.
    fileprivate func tearDown() async {
        await group.triggerGracefulShutdown()
        if (try? await waitUntilEnded(timeout: .seconds(10))) == nil {
            runner.withLock { $0?.cancel() }
            _ = try? await waitUntilEnded(timeout: .seconds(5))
        }
    }
}

/// Runs `services` in a `ServiceGroup` for the duration of `body`, then shuts the group down
/// gracefully (unless `body` already did with `stop()`), bounded by `stopTimeout`.
func withInProcessWorker<T>(
    _ services: [any Service], log: InProcessLog, stopTimeout: Duration = .seconds(15),
    _ body: (InProcessWorker) async throws -> T
) async throws -> T {
    let worker = InProcessWorker(services, log: log)
    worker.start()
    let result: T
    do {
        result = try await body(worker)
    } catch {
        await worker.tearDown()
        throw error
    }
    do {
        if worker.hasEnded {
            // Stopped by `body`, or ended on its own: surface how it ended.
            try await worker.waitUntilEnded(timeout: .zero).get()
        } else {
            try await worker.stop(timeout: stopTimeout)
        }
    } catch {
        await worker.tearDown()
        throw error
    }
    return result
}

extension TestEnvironment {
    /// Connection settings for the test broker under `name` (shown by `rabbitmqctl list_connections`),
    /// as guest or, given `user` and `password`, as that user.
    func connection(_ name: String, user: String? = nil, password: String? = nil) throws -> ConnectionConfiguration {
        let url = if let user, let password { self.url(user: user, password: password) } else { amqpURL }
        return ConnectionConfiguration(url: try AMQPURL(url), connectionName: name, heartbeat: .seconds(30), connectTimeout: .seconds(5))
    }

    /// Declares Warren's topology for `queue` (queue, `.dlx`, `.dead`) ahead of a consumer, so
    /// messages can be published to it before any consumer runs.
    func declareTopology(_ queue: String, queueType: QueueType = .classic) async throws {
        let connection = WarrenConnection(try connection("it-lib-declare"))
        do {
            try await Topology(queue: queue, queueType: queueType).declare(on: try await connection.connection())
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
    }
}
