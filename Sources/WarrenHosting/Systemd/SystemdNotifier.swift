#if canImport(Glibc)
import Glibc
#endif
import Warren

/// The sd_notify protocol (`man sd_notify`), spoken directly: newline-separated `KEY=VALUE`
/// assignments sent as one datagram to the `AF_UNIX` socket named by `NOTIFY_SOCKET` (a path, or
/// an abstract name written with a leading `@`). Without `NOTIFY_SOCKET` — not started by systemd
/// with `Type=notify` — every call is a no-op.
///
/// Sending never blocks: the datagram goes out with `MSG_DONTWAIT`, and a message the manager
/// cannot take is dropped (a notification is advisory). Safe from any thread or task.
public struct SystemdNotifier: Sendable {
    /// The socket address, or `nil` when notifications are off.
    public let socketPath: String?
    /// How often systemd expects `WATCHDOG=1` (`WATCHDOG_USEC`), when the watchdog is on and
    /// meant for this process (`WATCHDOG_PID` unset or equal to our pid).
    public let watchdogInterval: Duration?

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` from `environment`.
    public init(environment: [String: String]) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path
        var interval: Duration?
        if path != nil, let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0 {
            let forUs = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
            if forUs { interval = .microseconds(microseconds) }
        }
        watchdogInterval = interval
    }

    /// The process's own environment.
    public init() {
        self.init(environment: SettingsResolver.processEnvironment())
    }

    /// Whether `NOTIFY_SOCKET` was set: notifications are sent at all.
    public var isEnabled: Bool { socketPath != nil }

    /// Sends `assignments` (e.g. `["READY=1", "STATUS=consuming"]`) as one datagram. Returns
    /// whether it was sent (`false` when off or when the socket refused it).
    @discardableResult
    public func notify(_ assignments: [String]) -> Bool {
        guard let socketPath, !assignments.isEmpty, let target = Self.socketAddress(socketPath) else { return false }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let message = Array(assignments.joined(separator: "\n").utf8)
        let sent = withUnsafePointer(to: target.address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                message.withUnsafeBytes { bytes in
                    sendto(descriptor, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL), socketAddress, target.length)
                }
            }
        }
        return sent == message.count
    }

    /// The `AF_UNIX` address of `path` and its length (for `sendto`/`bind`); a leading `@` names
    /// the abstract namespace. `nil` when the path does not fit `sun_path`.
    static func socketAddress(_ path: String) -> (address: sockaddr_un, length: socklen_t)? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(path.utf8)
        // Abstract namespace: a leading '@' stands for the NUL byte.
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in pathBytes.enumerated() { buffer[index] = byte }
        }
        return (address, socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + (pathBytes.first == 0 ? 0 : 1)))
    }
}
