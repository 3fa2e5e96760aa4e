/// The message other services publish when a session starts: it lives until `expiresAt`
/// (seconds since the Unix epoch).
struct SessionCreated: Codable, Sendable, Equatable {
    let sessionID: String
    let expiresAt: Int64
}
