import Testing
import Warren

@Suite struct WorkerStatusTests {
    @Test("several consumers read as ready only when all are, else as the first that is not")
    func combinedReadiness() {
        let orders = WorkerStatus()
        let emails = WorkerStatus()
        orders.update(state: .consuming, isReady: true)
        emails.update(state: .consuming, isReady: true)
        #expect(WorkerStatus.combinedReadiness([orders, emails]) == .init(isReady: true, state: .consuming))

        emails.update(state: .connecting, isReady: false, detail: "connect refused")
        #expect(WorkerStatus.combinedReadiness([orders, emails]) == .init(isReady: false, state: .connecting, reason: "connect refused"))

        orders.update(state: .draining, isReady: false, detail: "draining")
        #expect(WorkerStatus.combinedReadiness([orders, emails]).state == .draining)
        #expect(WorkerStatus.combinedReadiness([]).isReady)
    }

    /// The words are an interface: `/readyz`, the systemd `STATUS=` line, the
    /// `warren_connection_state` label, the README and operators' alerts all use them. Spelled
    /// out here, not derived from the enum, so a renamed case fails.
    static let documentedWords: [(WorkerStatus.State, String)] = [
        (.starting, "starting"), (.connecting, "connecting"), (.consuming, "consuming"),
        (.blocked, "blocked"), (.stalled, "stalled"), (.reconnecting, "reconnecting"),
        (.draining, "draining"), (.stopped, "stopped"), (.failed, "failed"),
    ]

    @Test("every state maps to its documented word, and back")
    func everyStateIsItsDocumentedWord() {
        #expect(WorkerStatus.State.allCases == Self.documentedWords.map(\.0), "a state without a documented word")
        for (state, word) in Self.documentedWords {
            #expect(state.rawValue == word)
            #expect("\(state)" == word, "logs and the systemd STATUS= line interpolate the state")
            #expect(WorkerStatus.State(rawValue: word) == state)
        }
    }
}
