import MetricsTestKit
import Testing
import WarrenAMQP
@testable import Warren

/// `SupervisedState` mirrors every transition into the `warren_connection_state` gauge: after
/// each one exactly one series is 1, the worker's state. A stall has no series (it is found when
/// `/readyz` asks, not on a transition): a transition during one must leave `consuming` at 1, not
/// every series at 0 (operators' dashboards would show the replica in no state at all).
///
/// The metrics go to a `TestMetrics` factory of the test's own, not the process-wide bootstrap.
@Suite struct SupervisedStateTests {
    /// Everything the consumer applies to the state machine, and a publishing connection's
    /// block changing (which re-reads the state without a transition).
    enum Event: CaseIterable {
        case start, connected, progressed, connectFailed, refused, connectionLost, backoffElapsed
        case blocked, unblocked, shutdownRequested, drainFinished, crashed, publisherBlockChanged

        @discardableResult
        func apply(to machine: inout ConnectionStateMachine) -> ConnectionStateMachine.Action {
            let lost = ConnectionStateMachine.Failure("connection reset by peer", isPermanent: false)
            let refusal = ConnectionStateMachine.Failure("403 ACCESS_REFUSED", isPermanent: true)
            return switch self {
            case .start: machine.start()
            case .connected: machine.connected()
            case .progressed: machine.progressed()
            case .connectFailed: machine.connectFailed(lost, jitter: 0.5)
            case .refused: machine.connectFailed(refusal, jitter: 0.5)
            case .connectionLost: machine.connectionLost(lost, jitter: 0.5)
            case .backoffElapsed: machine.backoffElapsed()
            case .blocked: machine.blocked(reason: "low on memory")
            case .unblocked: machine.unblocked()
            case .shutdownRequested: machine.shutdownRequested()
            case .drainFinished: machine.drainFinished()
            case .crashed: machine.crashed(reason: "a bug")
            case .publisherBlockChanged: .none
            }
        }

        func apply(to supervised: SupervisedState) {
            if self == .publisherBlockChanged {
                supervised.publisherBlockChanged()
            } else {
                _ = supervised.apply { self.apply(to: &$0) }
            }
        }
    }

    /// A way from a new machine to each state the gauge has a series for.
    static let paths: [(reaches: WorkerStatus.State, events: [Event])] = [
        (.starting, []),
        (.connecting, [.start]),
        (.consuming, [.start, .connected]),
        (.blocked, [.start, .connected, .blocked]),
        (.reconnecting, [.start, .connected, .connectionLost]),
        (.draining, [.start, .connected, .shutdownRequested]),
        (.stopped, [.start, .connected, .shutdownRequested, .drainFinished]),
        (.failed, [.start, .refused, .backoffElapsed, .refused]),
    ]

    private static func machine() -> ConnectionStateMachine {
        ConnectionStateMachine(backoff: Backoff(initial: .milliseconds(500), maximum: .seconds(30)), maxRefusedAttempts: 2)
    }

    /// A supervised machine whose metrics go to `metrics`; `flow` makes it stalled on demand.
    private struct Fixture {
        let metrics = TestMetrics()
        let status = WorkerStatus()
        let supervised: SupervisedState
        // Any time since the owner thread's last turn, even none, exceeds a negative limit:
        // watching a connection is a stall at once, whatever the clock's resolution.
        let flow = FlowMonitor(limit: .nanoseconds(-1), handlersRunning: { 0 })

        init() {
            let consumerMetrics = ConsumerMetrics(queue: "orders", factory: metrics)
            status.watch(flow, stallGauge: consumerMetrics.stalledSeconds)
            supervised = SupervisedState(SupervisedStateTests.machine(), status: status, metrics: consumerMetrics)
        }

        /// `warren_stalled_seconds{queue="orders"}`'s last value.
        var stalledSeconds: Double? {
            metrics.recorders.first { $0.label == "warren_stalled_seconds" && $0.dimensions.contains { $0 == ("queue", "orders") } }?.lastValue
        }

        func stall() { flow.consuming(on: LoopActivity()) }
        func endStall() { flow.notConsuming() }

        /// Every `warren_connection_state` series: its `state` label and value.
        var gauge: [String: Double] {
            var series: [String: Double] = [:]
            for recorder in metrics.recorders where recorder.label == "warren_connection_state" {
                #expect(recorder.dimensions.contains { $0 == ("queue", "orders") })
                let state = recorder.dimensions.first { $0.0 == "state" }?.1 ?? "?"
                series[state] = recorder.lastValue
            }
            return series
        }

        /// The states whose series reads 1.
        var statesAtOne: [String] { gauge.filter { $0.value == 1 }.keys.sorted() }
    }

    @Test("every series exists from the start, starting at 1: all states but stalled")
    func everySeriesExistsFromTheStart() {
        let fixture = Fixture()
        let words = WorkerStatus.State.allCases.filter { $0 != .stalled }.map(\.rawValue)
        #expect(fixture.gauge.keys.sorted() == words.sorted())
        #expect(fixture.statesAtOne == ["starting"])
    }

    /// The bug: a transition during a stall set the nonexistent `stalled` series, so every
    /// series read 0 until the next transition.
    @Test("a transition during a stall keeps consuming at 1 while /readyz says stalled")
    func aTransitionDuringAStallKeepsConsuming() {
        let fixture = Fixture()
        Event.start.apply(to: fixture.supervised)
        Event.connected.apply(to: fixture.supervised)
        #expect(fixture.statesAtOne == ["consuming"])

        fixture.stall()
        #expect(fixture.status.readiness.state == .stalled, "the fixture stalls")
        for event in [Event.unblocked, .progressed, .publisherBlockChanged] {
            event.apply(to: fixture.supervised)
            #expect(fixture.statesAtOne == ["consuming"], "after \(event) during a stall")
        }
        Event.blocked.apply(to: fixture.supervised)
        #expect(fixture.statesAtOne == ["blocked"])
        Event.unblocked.apply(to: fixture.supervised)
        #expect(fixture.statesAtOne == ["consuming"], "unblocked while stalled")
        #expect(fixture.status.readiness.state == .stalled, "/readyz still reports the stall")

        fixture.endStall()
        Event.progressed.apply(to: fixture.supervised)
        #expect(fixture.statesAtOne == ["consuming"])
        #expect(fixture.status.readiness.state == .consuming)
    }

    /// A stall has no series of `warren_connection_state`; `warren_stalled_seconds` shows it,
    /// set when the metrics are read (`refreshMetrics`, before every scrape): 0 from the start,
    /// its length while the consumer is stalled, 0 again once deliveries flow or when the
    /// consumer is not consuming at all (a reconnect is no stall).
    @Test("warren_stalled_seconds reads a stall's length at each refresh, else 0")
    func theStallGaugeFollowsTheStall() throws {
        let fixture = Fixture()
        #expect(fixture.stalledSeconds == 0, "the series exists from the start")
        Event.start.apply(to: fixture.supervised)
        Event.connected.apply(to: fixture.supervised)
        fixture.status.refreshMetrics()
        #expect(fixture.stalledSeconds == 0)

        fixture.stall()
        #expect(fixture.stalledSeconds == 0, "found when read, not pushed")
        fixture.status.refreshMetrics()
        let first = try #require(fixture.stalledSeconds)
        #expect(first > 0)
        // The stall goes on: a later read is longer.
        let deadline = ContinuousClock.now + .seconds(1)
        repeat {
            fixture.status.refreshMetrics()
        } while try #require(fixture.stalledSeconds) <= first && ContinuousClock.now < deadline
        #expect(try #require(fixture.stalledSeconds) > first)

        Event.connectionLost.apply(to: fixture.supervised)
        fixture.status.refreshMetrics()
        #expect(fixture.stalledSeconds == 0, "not consuming: no stall, whatever the monitor last saw")
        Event.backoffElapsed.apply(to: fixture.supervised)
        Event.connected.apply(to: fixture.supervised)
        fixture.status.refreshMetrics()
        #expect(try #require(fixture.stalledSeconds) > 0, "consuming again on a stalled monitor")
        fixture.endStall()
        fixture.status.refreshMetrics()
        #expect(fixture.stalledSeconds == 0)
    }

    /// From every state, every event, with and without a stall: exactly one series is 1, the
    /// machine's own state (no publishing connection is watched here, so nothing else blocks).
    @Test("every transition from every state leaves exactly one series at 1", arguments: [false, true])
    func everyTransitionLeavesExactlyOneSeriesAtOne(stalled: Bool) {
        for (reaches, path) in Self.paths {
            for event in Event.allCases {
                let fixture = Fixture()
                if stalled { fixture.stall() }
                var reference = Self.machine()
                for (step, applied) in (path + [event]).enumerated() {
                    applied.apply(to: fixture.supervised)
                    applied.apply(to: &reference)
                    let expected = reference.readiness.state
                    #expect(fixture.statesAtOne == [expected.rawValue],
                            "stalled: \(stalled), \(path + [event]) step \(step + 1) (\(applied)): gauge \(fixture.gauge)")
                    if stalled && expected == .consuming {
                        #expect(fixture.status.readiness.state == .stalled, "the stall is real, only the gauge hides it")
                    }
                }
                #expect(Self.machineState(after: path) == reaches, "the path \(path) reaches \(reaches)")
            }
        }
    }

    private static func machineState(after path: [Event]) -> WorkerStatus.State {
        var machine = machine()
        for event in path { event.apply(to: &machine) }
        return machine.readiness.state
    }
}
