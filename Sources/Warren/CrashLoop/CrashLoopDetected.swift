/// The error a crash-looping message is dead-lettered with (see `CrashGuard`): it crashed the
/// worker `crashes` times while handled alone. Its `x-warren-error-type` is `crash-loop`.
public struct CrashLoopDetected: PermanentError, CustomStringConvertible {
    /// How many times the worker crashed while handling this message alone.
    public var crashes: Int
    /// The configured crash limit (`WARREN_CRASH_LIMIT`) that `crashes` reached.
    public var limit: Int

    /// The dead-letter reason, naming both counts.
    public var description: String {
        "the message crashed the worker \(crashes) times while handled alone (crash limit \(limit))"
    }
}
