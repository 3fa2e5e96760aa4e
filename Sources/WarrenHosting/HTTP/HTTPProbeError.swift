import Warren

/// Why an `HTTPProbe` got no HTTP response. An HTTP error status is not an error: it is a
/// `HTTPProbe.Response` with that status.
public enum HTTPProbeError: Error, Sendable, Equatable, CustomStringConvertible {
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

    public var description: String {
        switch self {
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
