import Testing
@testable import WarrenHosting
import Warren

/// `WorkerHost.exitCode(for:)`: the exit codes the README's table promises for a worker that
/// stops with an error (0 is a clean `run()`, which throws nothing). Exit 70 cannot be provoked
/// from outside a correct build (it means the consumer loop itself failed), so this mapping is
/// its test; `warren worker` exits with it.
@Suite struct WorkerHostTests {
    struct Unexpected: Error {}

    @Test func aHealthPortThatCannotBeBoundExits78() {
        #expect(WorkerHost.exitCode(for: HealthServerBindError(host: "0.0.0.0", port: 8080, underlying: "in use")) == 78)
    }

    @Test func aBrokerThatRefusedForGoodExits69() {
        #expect(WorkerHost.exitCode(for: WorkerFailure(.refused, reason: "403 ACCESS_REFUSED")) == 69)
    }

    @Test func aCrashedConsumerLoopExits70() {
        #expect(WorkerHost.exitCode(for: WorkerFailure(.crashed, reason: "bug")) == 70)
    }

    /// `WorkerFailure.Kind` is a struct with static constants (a kind added later must not break
    /// a user's switch), still distinct, hashable and named.
    @Test func failureKindsAreDistinctNamedAndSwitchableWithDefault() {
        let kinds: [WorkerFailure.Kind] = [.refused, .crashed]
        #expect(Set(kinds).count == 2)
        #expect(kinds.map(\.description) == ["refused", "crashed"])
        func label(_ kind: WorkerFailure.Kind) -> String {
            switch kind {
            case .refused: "refused"
            default: "other"
            }
        }
        #expect(label(.refused) == "refused" && label(.crashed) == "other")
    }

    @Test func anythingElseExits1() {
        #expect(WorkerHost.exitCode(for: Unexpected()) == 1)
        #expect(WorkerHost.exitCode(for: CancellationError()) == 1)
    }
}
