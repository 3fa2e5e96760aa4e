import Foundation
import Synchronization
@testable import WarrenHosting

#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket standing in for systemd's notification socket: bound at a fresh path (or at
/// `path`), it records every datagram a child process sends to `NOTIFY_SOCKET`, with the time it
/// arrived, on a thread of its own.
final class NotifySocket: Sendable {
    /// One datagram and when the reader thread received it.
    struct Datagram: Sendable, CustomStringConvertible {
        let text: String
        let arrived: ContinuousClock.Instant
        var description: String { text }
    }

    let path: String
    private let descriptor: Int32
    private let received = Mutex<[Datagram]>([])
    private let open = Atomic<Bool>(true)

    init(path: String? = nil) throws {
        self.path = path ?? FileManager.default.temporaryDirectory.appendingPathComponent("warren-notify-\(uniqueSuffix()).sock").path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        // The same address the worker's SystemdNotifier sends to.
        guard let target = SystemdNotifier.socketAddress(self.path) else {
            Glibc.close(descriptor)
            throw POSIXError(.ENAMETOOLONG)
        }
        let bound = withUnsafePointer(to: target.address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, target.length) }
        }
        guard bound == 0 else {
            Glibc.close(descriptor)
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
        // Wake up regularly so `close()` ends the reader.
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let thread = Thread { [self] in readLoop() }
        thread.start()
    }

    private func readLoop() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while open.load(ordering: .relaxed) {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count > 0 {
                let datagram = Datagram(text: String(decoding: buffer[0..<count], as: UTF8.self), arrived: .now)
                received.withLock { $0.append(datagram) }
            }
        }
        Glibc.close(descriptor)
    }

    /// Every datagram so far, in order of arrival.
    var datagrams: [String] { received.withLock { $0.map(\.text) } }
    /// Every datagram so far with its arrival time, in order of arrival.
    var timedDatagrams: [Datagram] { received.withLock { $0 } }
    /// Every assignment (`KEY=VALUE`) of every datagram so far, in order.
    var assignments: [String] { datagrams.flatMap { $0.split(separator: "\n").map(String.init) } }

    func close() {
        open.store(false, ordering: .relaxed)
        unlink(path)
    }
}
