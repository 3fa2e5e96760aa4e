import Testing
@testable import Warren

@Suite struct LeaseTokensTests {
    @Test func holdingAnyTokenIsLeadership() {
        var tokens = LeaseTokens()
        #expect(!tokens.isLeader && tokens.lastCompleted == nil)
        tokens.received(tag: 1, tick: nil)
        #expect(tokens.isLeader && tokens.lastCompleted == nil, "a seed token: leader of a job that never ran")
    }

    @Test func mergingKeepsTheNewestTickAndAcksTheRest() {
        var tokens = LeaseTokens()
        tokens.received(tag: 1, tick: nil)
        tokens.received(tag: 2, tick: 600)
        tokens.received(tag: 3, tick: 660)
        tokens.received(tag: 4, tick: nil)
        #expect(tokens.surplus() == [1, 2, 4])
        #expect(tokens.lastCompleted == 660)
        #expect(tokens.held.keys.sorted() == [3])
        #expect(tokens.surplus().isEmpty)
    }

    @Test func onlySeedsKeepOne() {
        var tokens = LeaseTokens()
        tokens.received(tag: 7, tick: nil)
        tokens.received(tag: 5, tick: nil)
        #expect(tokens.surplus() == [7])
        #expect(tokens.isLeader)
    }

    @Test func recordingAcksOlderTokensAndStaysLeaderUntilTheNewOneArrives() {
        var tokens = LeaseTokens()
        tokens.received(tag: 1, tick: 600)
        #expect(tokens.recorded(660) == [1])
        #expect(tokens.isLeader && tokens.lastCompleted == 660)
        tokens.received(tag: 2, tick: 660)
        #expect(tokens.lastCompleted == 660 && tokens.held.keys.sorted() == [2])
    }

    /// The broker may deliver the new token to its active consumer before the publisher
    /// confirm arrives: recording must not ack it, or the job's state (and lease) is lost.
    @Test func theNewTokenArrivingBeforeTheConfirmIsKept() {
        var tokens = LeaseTokens()
        tokens.received(tag: 1, tick: 600)
        tokens.received(tag: 2, tick: 660)
        #expect(tokens.recorded(660) == [1])
        #expect(tokens.held.keys.sorted() == [2] && tokens.lastCompleted == 660)
    }

    @Test func releaseGivesBackEverythingAndEndsLeadership() {
        var tokens = LeaseTokens()
        tokens.received(tag: 3, tick: 600)
        _ = tokens.recorded(660)
        tokens.received(tag: 4, tick: 660)
        #expect(tokens.release() == [4])
        #expect(!tokens.isLeader && tokens.lastCompleted == nil)
    }
}
