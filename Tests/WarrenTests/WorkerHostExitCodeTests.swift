import Testing
import Warren

/// `WorkerHost.exitCode(for:)`: the codes the README's exit-code table promises for the errors
/// `run()` throws. Exit 70 cannot be provoked from outside a correct build (it means the
/// consumer loop itself failed), so this mapping is its test; `warren worker` exits with it.
@Suite struct WorkerHostExitCodeTests {
    @Test func consumerLoopFailureIs70() {
        #expect(WorkerHost.exitCode(for: WorkerFailure(.crashed, reason: "consumer loop: bug")) == 70)
    }

    @Test func permanentRefusalIs69() {
        #expect(WorkerHost.exitCode(for: WorkerFailure(.refused, reason: "403 ACCESS_REFUSED")) == 69)
    }

    @Test func anyOtherErrorIs1() {
        struct Other: Error {}
        #expect(WorkerHost.exitCode(for: Other()) == 1)
    }
}
