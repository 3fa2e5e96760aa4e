/// A `--bind` / `WARREN_BIND` entry that cannot be read (`QueueBinding.parseList`).
public struct BindingSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The entry as written (one comma-separated item).
    public var entry: String
    public var problem: String

    public var description: String { "'\(entry)': \(problem)" }
}
