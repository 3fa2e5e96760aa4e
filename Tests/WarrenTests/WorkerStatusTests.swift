import Testing
import Warren

@Suite struct WorkerStatusTests {
    @Test("several consumers read as ready only when all are, else as the first that is not")
    func combinedReadiness() {
        let orders = WorkerStatus()
        let emails = WorkerStatus()
        orders.update(state: "consuming", isReady: true)
        emails.update(state: "consuming", isReady: true)
        #expect(WorkerStatus.combinedReadiness([orders, emails]) == .init(isReady: true, state: "consuming"))

        emails.update(state: "connecting", isReady: false, detail: "connect refused")
        #expect(WorkerStatus.combinedReadiness([orders, emails]) == .init(isReady: false, state: "connecting", reason: "connect refused"))

        orders.update(state: "draining", isReady: false, detail: "draining")
        #expect(WorkerStatus.combinedReadiness([orders, emails]).state == "draining")
        #expect(WorkerStatus.combinedReadiness([]).isReady)
    }
}
