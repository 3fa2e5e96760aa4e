import Testing
import Warren

@Suite struct ConnectionStateMachineTests {
    private let refused = ConnectionStateMachine.Failure("connect to h:1: Connection refused", isPermanent: false)
    private let accessRefused = ConnectionStateMachine.Failure("403 ACCESS_REFUSED", isPermanent: true)
    private func machine(maxRefused: Int = 3) -> ConnectionStateMachine {
        ConnectionStateMachine(backoff: Backoff(initial: .milliseconds(500), maximum: .seconds(30)), maxRefusedAttempts: maxRefused)
    }

    @Test func startConnectsAndAConnectionMeansConsuming() {
        var m = machine()
        #expect(m.readiness.state == .starting)
        #expect(m.start() == .connect(attempt: 1))
        #expect(m.state == .connecting(attempt: 1))
        #expect(m.readiness.isReady == false)
        #expect(m.connected() == ConnectionStateMachine.Action.none)
        #expect(m.state == .consuming(blocked: nil))
        #expect(m.readiness.isReady)
        #expect(m.start() == ConnectionStateMachine.Action.none, "start is not repeated")
    }

    @Test func failedConnectsBackOffAndRetryForeverWhenTransient() {
        var m = machine()
        _ = m.start()
        for attempt in 1...10 {
            let action = m.connectFailed(refused, jitter: 0.5)
            guard case .wait(let delay, let waitedAttempt, let cause) = action else {
                Issue.record("expected wait, got \(action)")
                return
            }
            #expect(waitedAttempt == attempt)
            #expect(cause == refused.description)
            #expect(delay == Backoff(initial: .milliseconds(500), maximum: .seconds(30)).cap(afterFailures: attempt) * 0.5)
            #expect(m.readiness == (false, .reconnecting, refused.description) as (Bool, WorkerStatus.State, String?))
            #expect(m.backoffElapsed() == .connect(attempt: attempt + 1))
        }
    }

    @Test func permanentRefusalsEndTheWorkerAfterTheLimit() {
        var m = machine(maxRefused: 3)
        _ = m.start()
        #expect(m.connectFailed(accessRefused, jitter: 0) == .wait(.zero, attempt: 1, cause: accessRefused.description))
        _ = m.backoffElapsed()
        // A transient failure in between resets the count of refusals in a row.
        guard case .wait = m.connectFailed(refused, jitter: 0) else { Issue.record("expected wait"); return }
        _ = m.backoffElapsed()
        guard case .wait = m.connectFailed(accessRefused, jitter: 0) else { Issue.record("expected wait"); return }
        _ = m.backoffElapsed()
        guard case .wait = m.connectFailed(accessRefused, jitter: 0) else { Issue.record("expected wait"); return }
        _ = m.backoffElapsed()
        let action = m.connectFailed(accessRefused, jitter: 0)
        guard case .fail(let reason, .refused) = action else { Issue.record("expected fail(refused), got \(action)"); return }
        #expect(reason.contains("403 ACCESS_REFUSED") && reason.contains("3 times"))
        guard case .closed(.failed) = m.state else { Issue.record("expected closed(failed)"); return }
        #expect(m.readiness.state == .failed)
    }

    /// A broker that accepts the connection and then refuses the work at once (a 406 closing the
    /// channel on every connect) must end loudly, not reconnect forever: connecting again does
    /// not reset the count of refusals, only work done (`progressed`) does.
    @Test func aRefusalRepeatingAfterEachConnectEndsTheWorker() {
        let precondition = ConnectionStateMachine.Failure("406 PRECONDITION_FAILED - delivery acknowledgement timed out", isPermanent: true)
        var m = machine(maxRefused: 3)
        _ = m.start()
        for _ in 1...2 {
            _ = m.connected()
            guard case .wait = m.connectionLost(precondition, jitter: 0) else { Issue.record("expected wait"); return }
            _ = m.backoffElapsed()
        }
        _ = m.connected()
        guard case .fail(_, .refused) = m.connectionLost(precondition, jitter: 0) else { Issue.record("expected fail"); return }

        // With work done in between, the same refusals are not "in a row".
        var n = machine(maxRefused: 2)
        _ = n.start()
        for _ in 1...4 {
            _ = n.connected()
            _ = n.progressed()
            guard case .wait = n.connectionLost(precondition, jitter: 0) else { Issue.record("expected wait"); return }
            _ = n.backoffElapsed()
        }
    }

    @Test func aLostConnectionReconnectsQuicklyAndASuccessResetsTheBackoff() {
        var m = machine()
        _ = m.start()
        _ = m.connectFailed(refused, jitter: 0.99)
        _ = m.backoffElapsed()
        _ = m.connectFailed(refused, jitter: 0.99)
        _ = m.backoffElapsed()
        _ = m.connected()
        // After a success the next failure starts from the smallest cap again.
        #expect(m.connectionLost(refused, jitter: 0.99) == .wait(.milliseconds(500) * 0.99, attempt: 0, cause: refused.description))
        #expect(m.backoffElapsed() == .connect(attempt: 1))
    }

    @Test func blockedConsumingIsNotReady() {
        var m = machine()
        _ = m.start()
        _ = m.connected()
        _ = m.blocked(reason: "low on memory")
        #expect(m.state == .consuming(blocked: "low on memory"))
        #expect(m.readiness == (false, .blocked, "blocked by the broker: low on memory") as (Bool, WorkerStatus.State, String?))
        _ = m.unblocked()
        #expect(m.readiness.isReady)
        // Blocked/unblocked mean nothing outside consuming.
        var idle = machine()
        #expect(idle.blocked(reason: "x") == .none)
        #expect(idle.state == .idle)
    }

    @Test func shutdownBeforeConsumingStopsAtOnce() {
        for setUp in [{ (m: inout ConnectionStateMachine) in }, { m in _ = m.start() },
                      { m in _ = m.start(); _ = m.connectFailed(refused, jitter: 0.5) }] as [(inout ConnectionStateMachine) -> Void] {
            var m = machine()
            setUp(&m)
            #expect(m.shutdownRequested() == .stop)
            #expect(m.state == .closed(.stopped))
            #expect(m.shutdownRequested() == .none)
            #expect(m.backoffElapsed() == .none, "a pending wait does not reconnect after stop")
        }
    }

    @Test func shutdownWhileConsumingDrainsAndASecondSignalAbandonsTheDrain() {
        var m = machine()
        _ = m.start()
        _ = m.connected()
        #expect(m.shutdownRequested() == .drain)
        #expect(m.readiness == (false, .draining, "draining") as (Bool, WorkerStatus.State, String?))
        #expect(m.shutdownRequested() == .abandonDrain)
        #expect(m.drainFinished() == .stop)
        #expect(m.state == .closed(.stopped))
    }

    @Test func aConnectionLostDuringTheDrainStopsWithoutReconnecting() {
        var m = machine()
        _ = m.start()
        _ = m.connected()
        _ = m.shutdownRequested()
        #expect(m.connectionLost(refused, jitter: 0.5) == .stop)
        #expect(m.state == .closed(.stopped))
    }

    @Test func aCrashFailsFromAnyLiveState() {
        var m = machine()
        _ = m.start()
        _ = m.connected()
        #expect(m.crashed(reason: "bug") == .fail(reason: "bug", cause: .crashed))
        #expect(m.state == .closed(.failed(reason: "bug", cause: .crashed)))
        #expect(m.crashed(reason: "again") == .none)
        #expect(m.connected() == .none)
        #expect(m.drainFinished() == .none)
    }

    @Test func eventsThatDoNotApplyAreIgnored() {
        var m = machine()
        #expect(m.connected() == .none)
        #expect(m.connectFailed(refused, jitter: 0) == .none)
        #expect(m.connectionLost(refused, jitter: 0) == .none)
        #expect(m.backoffElapsed() == .none)
        #expect(m.drainFinished() == .none)
        #expect(m.state == .idle)
    }
}
