import Testing
@testable import Warren

/// `CrashGuard.plan`: which deliveries run alone and when a crash loop is declared.
@Suite struct CrashGuardTests {
    @Test func onlyMessagesRunningAtACrashRunAloneAndOnlyCrashesAloneCount() {
        // Never running at a crash: beside others (a drained or reconnected delivery).
        #expect(CrashGuard.plan(markedCrashes: 0, limit: 3) == .beside)
        // The first marked crash may have had company; the later ones were alone.
        #expect(CrashGuard.plan(markedCrashes: 1, limit: 3) == .alone(crashesAlone: 0))
        #expect(CrashGuard.plan(markedCrashes: 3, limit: 3) == .alone(crashesAlone: 2))
        #expect(CrashGuard.plan(markedCrashes: 4, limit: 3) == .crashLoop(crashesAlone: 3))
        #expect(CrashGuard.plan(markedCrashes: 9, limit: 3) == .crashLoop(crashesAlone: 8))
        #expect(CrashGuard.plan(markedCrashes: 2, limit: 1) == .crashLoop(crashesAlone: 1))
    }
}
