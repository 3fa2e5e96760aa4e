/// Why a worker stopped for good. The executable maps `kind` to an exit code so a supervisor
/// (systemd, Kubernetes, Docker) restarts it and an operator can tell the causes apart.
public struct WorkerFailure: Error, Sendable, CustomStringConvertible {
    /// Why the worker stopped, as the exit code sees it. A struct with static constants rather
    /// than an enum so that a kind added later does not break your `switch`: keep a `default:`.
    /// Its `description` is the constant's name, e.g. `refused`.
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        /// Private so that adding a case is not visible to users' switches.
        private enum Base: String, Sendable, Hashable {
            case refused, crashed
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The broker refused repeatedly for a reason retrying cannot fix (credentials, vhost,
        /// incompatible queue arguments): exit 69 (EX_UNAVAILABLE).
        public static let refused = Kind(.refused)
        /// The consumer loop itself failed (a bug): exit 70 (EX_SOFTWARE).
        public static let crashed = Kind(.crashed)

        /// The constant's name, e.g. `refused`.
        public var description: String { base.rawValue }
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
