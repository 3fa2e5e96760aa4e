import Testing
@testable import Warren

@Suite struct CrashLoopDetectedTests {
    @Test func crashLoopsAreNamedForOperators() {
        let error = CrashLoopDetected(crashes: 3, limit: 3)
        #expect(DeadLetterHeaders.errorTypeName(error) == "crash-loop")
        #expect(DeadLetterReason(error) == .crashLoop)
        #expect(RetryPolicy().decision(after: error, attempt: 1, immediateRetriesSoFar: 0) == .deadLetter(permanent: true))
        #expect(DeadLetterHeaders.errorTypeName(PermanentFailure(CancellationError())) == "CancellationError")
    }
}
