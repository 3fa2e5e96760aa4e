import Foundation

/// The example's table: live sessions, kept in a JSON-lines file rewritten atomically on each
/// change (a stand-in for a database table with an `expires_at` column).
///
/// Inserting is idempotent by session id, so a redelivered message changes nothing; expiring is
/// idempotent by time, so a tick that runs twice (a library job cut off by SIGKILL runs again on
/// the next leader) removes nothing the second time.
///
/// - Important: File I/O blocks, so the actor runs on its own thread (`QueueExecutor`), never
///   on the cooperative pool that Warren's handlers and jobs share.
actor SessionStore {
    private let executor = QueueExecutor(label: "session-store")
    nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let url: URL
    private var sessions: [String: SessionCreated]

    /// Opens the file at `path` (an empty table if there is none).
    init(path: String) throws {
        url = URL(fileURLWithPath: path)
        let contents = FileManager.default.fileExists(atPath: path) ? try Data(contentsOf: url) : Data()
        var sessions: [String: SessionCreated] = [:]
        for line in contents.split(separator: UInt8(ascii: "\n")) {
            if let session = try? JSONDecoder().decode(SessionCreated.self, from: Data(line)) { sessions[session.sessionID] = session }
        }
        self.sessions = sessions
    }

    /// Adds a session; true if it was new.
    func insert(_ session: SessionCreated) throws -> Bool {
        guard sessions[session.sessionID] == nil else { return false }
        sessions[session.sessionID] = session
        try save()
        return true
    }

    /// Deletes the sessions that expired at or before `time`; returns how many.
    func expire(atOrBefore time: Int64) throws -> Int {
        let expired = sessions.values.filter { $0.expiresAt <= time }.map(\.sessionID)
        guard !expired.isEmpty else { return 0 }
        for id in expired { sessions.removeValue(forKey: id) }
        try save()
        return expired.count
    }

    private func save() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var data = Data()
        for session in sessions.values.sorted(by: { $0.sessionID < $1.sessionID }) {
            data += try encoder.encode(session) + Data("\n".utf8)
        }
        try data.write(to: url, options: .atomic)
    }
}
