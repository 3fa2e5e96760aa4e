import Testing
@testable import Warren

@Suite struct FlowMonitorTests {
    private let limit = Duration.seconds(30)

    @Test func aTurningThreadAndAWaitingLoopAreNoStall() {
        #expect(FlowMonitor.stall(sinceOwnerTurn: .milliseconds(900), deliveryLoopBusyFor: nil, handlersRunning: 0, limit: limit) == nil)
    }

    @Test func anOwnerThreadSilentPastTheLimitIsAStall() {
        let stall = FlowMonitor.stall(sinceOwnerTurn: .seconds(31), deliveryLoopBusyFor: nil, handlersRunning: 3, limit: limit)
        #expect(stall?.duration == .seconds(31))
        #expect(stall?.reason.contains("thread has not turned for 31000 ms") == true)
    }

    @Test func anOwnerThreadHeldByATaskNamesTheHandlerAndTheSetting() {
        let stall = FlowMonitor.stall(
            sinceOwnerTurn: .seconds(31), ownerRunningTask: true, deliveryLoopBusyFor: nil, handlersRunning: 1, limit: limit)
        #expect(stall?.duration == .seconds(31))
        #expect(stall?.reason.contains("a handler has held the connection's thread for 31000 ms") == true)
        #expect(stall?.reason.contains("handler-thread") == true)
        #expect(
            FlowMonitor.stall(sinceOwnerTurn: .seconds(29), ownerRunningTask: true, deliveryLoopBusyFor: nil, handlersRunning: 1, limit: limit)
                == nil)
    }

    @Test func aLongHandlerIsNotAStall() {
        // The loop waits for a slot while handlers run: working as designed.
        #expect(FlowMonitor.stall(sinceOwnerTurn: .zero, deliveryLoopBusyFor: .seconds(600), handlersRunning: 1, limit: limit) == nil)
    }

    @Test func aBusyLoopWithNoHandlerRunningPastTheLimitIsAStall() {
        let stall = FlowMonitor.stall(sinceOwnerTurn: .zero, deliveryLoopBusyFor: .seconds(45), handlersRunning: 0, limit: limit)
        #expect(stall?.reason.contains("delivery loop") == true)
        #expect(FlowMonitor.stall(sinceOwnerTurn: .zero, deliveryLoopBusyFor: .seconds(29), handlersRunning: 0, limit: limit) == nil)
    }

    @Test func nothingIsWatchedWhileNotConsuming() {
        let monitor = FlowMonitor(limit: .zero, handlersRunning: { 0 })
        monitor.deliveryLoopBusy()
        #expect(monitor.stall == nil)
    }
}
