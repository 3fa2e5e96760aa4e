import ServiceLifecycle
import Warren

/// Tells systemd (`Type=notify`) what the worker is doing, from its consumers' statuses:
/// `STATUS=<state>` (with the reason while not ready) on every change, `READY=1` the first time
/// every consumer is consuming, `STOPPING=1` when a drain begins, and `WATCHDOG=1` at half the
/// watchdog interval while the process runs (so a hung process is restarted by systemd). The
/// process keeps pinging during the drain; `TimeoutStopSec` bounds that.
///
/// `WorkerHost` runs it first (so it stops last) when `NOTIFY_SOCKET` is set. It polls the
/// statuses every 250 ms (or at the watchdog pace when that is faster): cheap, and no status
/// change needs a faster answer. Runs on its own task; sends never block (`SystemdNotifier`).
struct SystemdNotifyService: Service {
    let notifier: SystemdNotifier
    let statuses: [WorkerStatus]

    static let pollInterval: Duration = .milliseconds(250)

    func run() async throws {
        var lastStatus = ""
        var ready = false
        var stopping = false
        let watchdog = notifier.watchdogInterval.map { $0 / 2 }
        var nextPing = ContinuousClock.now
        let tick = min(Self.pollInterval, watchdog ?? Self.pollInterval)
        while true {
            let readiness = WorkerStatus.combinedReadiness(statuses)
            var assignments: [String] = []
            let status = readiness.reason.map { "\(readiness.state.rawValue): \($0)" } ?? readiness.state.rawValue
            if status != lastStatus {
                assignments.append("STATUS=\(status)")
                lastStatus = status
            }
            if !ready && readiness.isReady {
                ready = true
                assignments.append("READY=1")
            }
            let draining = statuses.contains { [.draining, .stopped].contains($0.readiness.state) }
            if !stopping && (draining || Task.isShuttingDownGracefully) {
                stopping = true
                assignments.append("STOPPING=1")
            }
            // A wedged consumer (see `FlowMonitor`) stops feeding the watchdog: systemd restarts
            // the process, as an orchestrator does on a failing /healthz.
            if let watchdog, ContinuousClock.now >= nextPing, WorkerStatus.combinedLiveness(statuses).isAlive {
                assignments.append("WATCHDOG=1")
                nextPing = ContinuousClock.now + watchdog
            }
            if !assignments.isEmpty { notifier.notify(assignments) }
            // Stopped last: by then everything else has stopped; cancellation ends it too.
            guard (try? await cancelWhenGracefulShutdown({ try await Task.sleep(for: tick) })) != nil else {
                if !stopping { notifier.notify(["STOPPING=1"]) }
                return
            }
        }
    }
}
