/// A setting with an unusable value. Names the key the value came from (the environment
/// variable or the flag) and what is wrong, never echoing secrets.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where the value came from, e.g. `WARREN_PREFETCH` or `--prefetch`.
    public var key: String
    /// The offending value as it may be shown (secrets redacted).
    public var value: String
    /// What a valid value looks like, e.g. `must be an integer from 1 to 65535`.
    public var problem: String

    /// - Parameters:
    ///   - key: the flag, variable or file key the value came from.
    ///   - value: the value as it may be shown: redact secrets before passing them.
    ///   - problem: what a valid value looks like.
    public init(key: String, value: String, problem: String) {
        self.key = key
        self.value = value
        self.problem = problem
    }

    /// `invalid <key>=<value>: <problem>`, the message `warren` prints before exiting 78.
    public var description: String {
        "invalid \(key)=\(value): \(problem)"
    }
}
