/// A setting with an unusable value. Names the key the value came from (the environment
/// variable or the flag) and what is wrong, never echoing secrets.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where the value came from, e.g. `WARREN_PREFETCH` or `--prefetch`.
    public var key: String
    /// The offending value as it may be shown (secrets redacted).
    public var value: String
    public var problem: String

    public init(key: String, value: String, problem: String) {
        self.key = key
        self.value = value
        self.problem = problem
    }

    public var description: String {
        "invalid \(key)=\(value): \(problem)"
    }
}
