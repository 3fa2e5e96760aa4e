/// Why a worker stopped for good. The executable maps `kind` to an exit code so a supervisor
/// (systemd, Kubernetes, Docker) restarts it and an operator can tell the causes apart.
public struct WorkerFailure: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The broker refused repeatedly for a reason retrying cannot fix (credentials, vhost,
        /// incompatible queue arguments): exit 69 (EX_UNAVAILABLE).
        case refused
        /// The consumer loop itself failed (a bug): exit 70 (EX_SOFTWARE).
        case crashed
    }

    public var kind: Kind
    public var reason: String

    public init(_ kind: Kind, reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { reason }
}
