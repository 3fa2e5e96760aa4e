import Foundation
import Logging
import Warren
import WarrenHosting

/// A consumer and a scheduled job in one process: sessions arrive as messages on the
/// `sessions` queue and are stored; the `expire-sessions` job deletes the expired ones at every
/// tick of `EXPIRE_SCHEDULE` (default `@every 1m`). Run as many replicas as you like: each
/// message is handled by one of them, and each tick runs on exactly one (the lease lives in the
/// broker; see Docs/scheduled-jobs.md).
@main
enum ScheduledJobs {
    static func main() async {
        let configuration: WorkerConfiguration
        let schedule: JobSchedule
        let store: SessionStore
        let environment = ProcessInfo.processInfo.environment
        do {
            configuration = try WorkerConfiguration.fromEnvironment(defaults: ["queue": "sessions"])
            schedule = try JobSchedule(environment["EXPIRE_SCHEDULE"] ?? "@every 1m")
        } catch {
            exitWithError("configuration error: \(error)")
        }
        let path = environment["SESSION_STORE"] ?? "sessions.jsonl"
        do {
            store = try SessionStore(path: path)
        } catch {
            exitWithError("cannot open the session store SESSION_STORE=\(path): \(error)")
        }

        WarrenLogging.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        let metrics = WarrenMetrics.bootstrap()
        let logger = Logger(label: "scheduled-jobs")
        let name = ConnectionConfiguration.processName("scheduled-jobs")

        let consumer = WarrenConsumer(
            configuration: configuration.consumer, connection: .dedicated(configuration.connection(named: name)),
            handler: ClosureHandler { (session: SessionCreated, context) in
                let inserted = try await store.insert(session)
                context.logger.info("session stored", metadata: [
                    "event": inserted ? "session.stored" : "session.duplicate", "session_id": "\(session.sessionID)",
                ])
            },
            logger: logger)

        // The job: a name, a schedule and a closure. Its tick, not the clock, decides what
        // expires, so a late run (after a takeover) deletes exactly what it would have on time.
        let jobs: [ScheduledJob]
        do {
            jobs = [try ScheduledJob(name: "expire-sessions", schedule: schedule) { context in
                let removed = try await store.expire(atOrBefore: context.tick)
                context.logger.info("sessions expired", metadata: ["event": "sessions.expired", "removed": "\(removed)"])
            }]
        } catch {
            exitWithError("configuration error: \(error)")
        }
        // The scheduler's own connection: its lease must not share the consumer's channel.
        let jobConnection = WarrenConnection(configuration.connection(named: name + " jobs"), logger: logger)
        do {
            let scheduler = try JobScheduler(namespace: configuration.broker.queue, jobs: jobs, connection: jobConnection, logger: logger)
            // Services stop in reverse order: the scheduler gives its lease back first, then its
            // connection closes, then the consumer drains.
            try await WorkerHost(services: [consumer, jobConnection, scheduler], healthPort: configuration.httpPort,
                                 metrics: metrics, logger: logger).run()
        } catch {
            logger.critical("scheduled-jobs failed", metadata: ["event": "worker.failed", "error": "\(error)"])
            exit(WorkerHost.exitCode(for: error))
        }
    }

    /// One line on stderr and exit 78 (EX_CONFIG, as `warren worker` does), before any broker work.
    private static func exitWithError(_ problem: String) -> Never {
        FileHandle.standardError.write(Data("scheduled-jobs: \(problem)\n".utf8))
        exit(78)
    }
}
