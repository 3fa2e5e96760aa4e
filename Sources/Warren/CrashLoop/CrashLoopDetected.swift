/// The error a crash-looping message is dead-lettered with (see `CrashGuard`): it crashed the
/// worker `crashes` times while handled alone. Its `x-warren-error-type` is `crash-loop`.
public struct CrashLoopDetected: PermanentError, CustomStringConvertible {
    public var crashes: Int
    public var limit: Int

    public var description: String {
        "the message crashed the worker \(crashes) times while handled alone (crash limit \(limit))"
    }
}
