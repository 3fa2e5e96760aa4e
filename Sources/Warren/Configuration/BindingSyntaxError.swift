/// A `--bind` / `WARREN_BIND` entry that cannot be read (`QueueBinding.parseList`).
public struct BindingSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The entry as written (one comma-separated item).
    public var entry: String
    /// What is wrong with it, for the error message.
    public var problem: String

    /// `'<entry>': <problem>`, for the exit-78 message.
    public var description: String { "'\(entry)': \(problem)" }
}
