import Testing
@testable import Warren

@Suite struct TickPlanTests {
    private let everyMinute = try! JobSchedule("@every 1m")

    private func plan(_ policy: MissedTickPolicy, last: Int64?, now: Int64, grace: Int64 = 2, limit: Int = 3) -> TickPlan {
        TickPlan(schedule: everyMinute, policy: policy, lastCompleted: last, now: now, grace: grace, catchUpLimit: limit)
    }

    @Test func aJobThatNeverRanStartsWithTheNextTick() {
        let plan = plan(.all, last: nil, now: 6000 + 30)
        #expect(plan.run.isEmpty && plan.skippedCount == 0)
        #expect(plan.next == 6060)
    }

    @Test func anOnTimeTickRunsUnderEveryPolicy() {
        for policy in MissedTickPolicy.allCases {
            let plan = plan(policy, last: 6000, now: 6061)
            #expect(plan.run == [6060], "\(policy)")
            #expect(plan.skippedCount == 0, "\(policy)")
            #expect(plan.next == 6120)
        }
    }

    @Test func nothingIsDueRightAfterACompletedTick() {
        let plan = plan(.latest, last: 6060, now: 6061)
        #expect(plan.run.isEmpty && plan.skippedCount == 0 && plan.next == 6120)
    }

    @Test func skipRunsNothingLate() {
        let plan = plan(.skip, last: 6000, now: 6000 + 5 * 60 + 10)
        #expect(plan.run.isEmpty)
        #expect(plan.skipped.map(\.tick) == [6060, 6120, 6180, 6240, 6300])
        #expect(plan.skipped.allSatisfy { $0.reason == .missed })
        #expect(plan.skippedCount == 5)
    }

    @Test func skipStillRunsTheTickThatIsOnTime() {
        let plan = plan(.skip, last: 6000, now: 6300 + 1)
        #expect(plan.run == [6300])
        #expect(plan.skipped.map(\.tick) == [6060, 6120, 6180, 6240])
    }

    @Test func latestRunsOnlyTheNewestMissedTick() {
        let plan = plan(.latest, last: 6000, now: 6000 + 5 * 60 + 10)
        #expect(plan.run == [6300])
        #expect(plan.skipped.map(\.tick) == [6060, 6120, 6180, 6240])
        #expect(plan.skippedCount == 4)
    }

    @Test func allCatchesUpOldestFirstWithinTheLimit() {
        let plan = plan(.all, last: 6000, now: 6000 + 5 * 60 + 10, limit: 3)
        #expect(plan.run == [6180, 6240, 6300])
        #expect(plan.skipped.map(\.tick) == [6060, 6120])
        #expect(plan.skipped.allSatisfy { $0.reason == .catchUpLimit })
        let everything = self.plan(.all, last: 6000, now: 6310, limit: 100)
        #expect(everything.run == [6060, 6120, 6180, 6240, 6300] && everything.skippedCount == 0)
    }

    @Test func aLongOutageListsAFewSkippedTicksAndCountsThemAll() {
        let plan = plan(.latest, last: 0, now: 60 * 10_000)
        #expect(plan.run == [600_000])
        #expect(plan.skipped.count == TickPlan.reportLimit)
        #expect(plan.skippedCount == 9_999)
    }
}
