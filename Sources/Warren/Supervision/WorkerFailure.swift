/// Why a worker stopped for good. The executable maps `kind` to an exit code so a supervisor
/// (systemd, Kubernetes, Docker) restarts it and an operator can tell the causes apart.
public struct WorkerFailure: Error, Sendable, CustomStringConvertible {
    /// The cause, which picks the exit code.
    public enum Kind: Sendable {
        /// The broker refused repeatedly for a reason retrying cannot fix (credentials, vhost,
        /// incompatible queue arguments): exit 69 (EX_UNAVAILABLE).
        case refused
        /// The consumer loop itself failed (a bug): exit 70 (EX_SOFTWARE).
        case crashed
    }

    /// Why the worker gave up: refused by the broker or crashed.
    public var kind: Kind
    /// The final error, as logged (no credentials).
    public var reason: String

    /// A failure of `kind` with `reason`.
    public init(_ kind: Kind, reason: String) {
        self.kind = kind
        self.reason = reason
    }

    /// `reason`.
    public var description: String { reason }
}
