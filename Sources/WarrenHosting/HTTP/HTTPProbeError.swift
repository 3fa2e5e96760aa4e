import Warren

/// Why an `HTTPProbe` got no HTTP response. An HTTP error status is not an error: it is a
/// `HTTPProbe.Response` with that status.
///
/// A struct rather than an enum so that a new kind of failure does not break an exhaustive
/// `switch` in your code: switch on ``code`` with a `default:` branch.
public struct HTTPProbeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure. Compare it (`error.code == .timedOut`) or switch on it with a
    /// `default:` branch; more codes may come. Its `description` is the constant's name.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// Private so that adding a case is not visible to users' switches.
        private enum Base: String, Sendable, Hashable {
            case invalidURL, cannotResolve, cannotConnect, timedOut, badResponse
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The URL is not `http://host[:port][/path]`; ``HTTPProbeError/target`` is the URL.
        public static let invalidURL = Code(.invalidURL)
        /// The host name did not resolve; ``HTTPProbeError/target`` is the host.
        public static let cannotResolve = Code(.cannotResolve)
        /// No address of the host accepted a connection, e.g. `Connection refused`.
        public static let cannotConnect = Code(.cannotConnect)
        /// The deadline passed; see ``HTTPProbeError/during`` and ``HTTPProbeError/timeout``.
        public static let timedOut = Code(.timedOut)
        /// The connection broke, or the server sent something that is not HTTP.
        public static let badResponse = Code(.badResponse)

        /// The constant's name, e.g. `cannotConnect`.
        public var description: String { base.rawValue }
    }

    /// The failure and its details. Package access, so a new case is not a breaking change.
    package enum Kind: Sendable, Equatable {
        /// The URL is not `http://host[:port][/path]`.
        case invalidURL(String, problem: String)
        /// The host name did not resolve.
        case cannotResolve(host: String, reason: String)
        /// No address of the host accepted a connection, e.g. `Connection refused`.
        case cannotConnect(address: String, reason: String)
        /// The deadline passed; `during` is `connecting` or `waiting for the response`.
        case timedOut(address: String, during: String, after: Duration)
        /// The connection broke, or the server sent something that is not HTTP.
        case badResponse(address: String, reason: String)
    }

    /// The failure and its details; Warren's own code switches on it exhaustively.
    package let kind: Kind

    /// A failure of `kind`.
    package init(_ kind: Kind) {
        self.kind = kind
    }

    /// A ``Code/invalidURL`` failure: the URL and what is wrong with it.
    package static func invalidURL(_ url: String, problem: String) -> HTTPProbeError {
        HTTPProbeError(.invalidURL(url, problem: problem))
    }

    /// A ``Code/cannotResolve`` failure.
    package static func cannotResolve(host: String, reason: String) -> HTTPProbeError {
        HTTPProbeError(.cannotResolve(host: host, reason: reason))
    }

    /// A ``Code/cannotConnect`` failure.
    package static func cannotConnect(address: String, reason: String) -> HTTPProbeError {
        HTTPProbeError(.cannotConnect(address: address, reason: reason))
    }

    /// A ``Code/timedOut`` failure: `during` which phase, `after` how long.
    package static func timedOut(address: String, during: String, after: Duration) -> HTTPProbeError {
        HTTPProbeError(.timedOut(address: address, during: during, after: after))
    }

    /// A ``Code/badResponse`` failure.
    package static func badResponse(address: String, reason: String) -> HTTPProbeError {
        HTTPProbeError(.badResponse(address: address, reason: reason))
    }

    /// What kind of failure this is.
    public var code: Code {
        switch kind {
        case .invalidURL: .invalidURL
        case .cannotResolve: .cannotResolve
        case .cannotConnect: .cannotConnect
        case .timedOut: .timedOut
        case .badResponse: .badResponse
        }
    }

    /// What the failure is about: the URL for ``Code/invalidURL``, the host for
    /// ``Code/cannotResolve``, else the `host:port` address (IPv6 bracketed).
    public var target: String {
        switch kind {
        case .invalidURL(let target, _), .cannotResolve(let target, _), .cannotConnect(let target, _),
             .timedOut(let target, _, _), .badResponse(let target, _):
            target
        }
    }

    /// Why, in words (e.g. `Connection refused`); `nil` for ``Code/timedOut``, which has
    /// ``during`` and ``timeout`` instead.
    public var reason: String? {
        switch kind {
        case .invalidURL(_, let reason), .cannotResolve(_, let reason), .cannotConnect(_, let reason),
             .badResponse(_, let reason):
            reason
        case .timedOut:
            nil
        }
    }

    /// For ``Code/timedOut``, the phase the deadline passed in: `connecting`, `sending the
    /// request` or `waiting for the response`; else `nil`.
    public var during: String? {
        guard case .timedOut(_, let during, _) = kind else { return nil }
        return during
    }

    /// For ``Code/timedOut``, the timeout that passed; else `nil`.
    public var timeout: Duration? {
        guard case .timedOut(_, _, let after) = kind else { return nil }
        return after
    }

    /// What failed and where, for `warren healthcheck`'s one-line output.
    public var description: String {
        switch kind {
        case .invalidURL(let url, let problem):
            return "invalid URL '\(url)': \(problem)"
        case .cannotResolve(let host, let reason):
            return "cannot resolve \(host): \(reason)"
        case .cannotConnect(let address, let reason):
            return "cannot connect to \(address): \(reason)"
        case .timedOut(let address, let during, let after):
            return "\(address): timed out after \(after.formatted) \(during)"
        case .badResponse(let address, let reason):
            return "\(address): \(reason)"
        }
    }
}

extension Duration {
    /// `2s`, `0.5s`, `1.25s`: seconds with up to three decimals.
    fileprivate var formatted: String {
        let milliseconds = self.milliseconds
        var text = "\(milliseconds / 1000)"
        var fraction = milliseconds % 1000
        if fraction != 0 {
            var digits = 3
            while fraction % 10 == 0 { fraction /= 10; digits -= 1 }
            let part = String(fraction)
            text += "." + String(repeating: "0", count: digits - part.count) + part
        }
        return text + "s"
    }
}
