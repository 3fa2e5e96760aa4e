import Foundation
import Warren

/// Restarts `warren worker` the way systemd's `Restart=on-failure` or a container restart
/// policy would: a fresh process after every exit, until `done` holds (checked while a worker
/// runs) or `maxLaunches` processes have run. Never sleeps blindly: each wait is a poll with a
/// deadline.
final class Supervisor {
    let env: TestEnvironment
    let queue: String
    let arguments: [String]
    private(set) var workers: [WarrenProcess] = []
    /// How the workers that ended did.
    private(set) var exits: [Termination] = []

    init(_ env: TestEnvironment, queue: String, _ arguments: [String]) {
        self.env = env
        self.queue = queue
        self.arguments = arguments
    }

    /// Runs workers until `done()`; returns with the last worker still running.
    func run(maxLaunches: Int, timeout: Duration, until done: @escaping () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            guard workers.count < maxLaunches else {
                throw TimeoutError(description: "still not done after \(maxLaunches) worker launches; exits \(exits)\n\(transcript)")
            }
            let worker = try WarrenProcess.worker(env, queue: queue, arguments)
            workers.append(worker)
            var finished = false
            try await poll(
                timeout: ContinuousClock.now.duration(to: deadline), interval: .milliseconds(200), "worker \(workers.count) exits or the work is done",
                lastSeen: { self.transcript }
            ) {
                if !worker.isRunning { return true }
                finished = try await done()
                return finished
            }
            if finished { return }
            exits.append(try await worker.waitForExit(timeout: .seconds(10)))
        }
    }

    /// Stops every worker still running (SIGKILL); for `defer`.
    func forceStop() {
        for worker in workers { worker.forceStop() }
    }

    /// Every worker's log, in launch order.
    var transcript: String {
        workers.enumerated().map { "--- worker \($0.offset + 1)\n\($0.element.transcript)" }.joined(separator: "\n")
    }

    /// The lines with `event` of every worker, in launch order.
    func events(_ event: String) -> [LogLine] { workers.flatMap { $0.events(event) } }
}
