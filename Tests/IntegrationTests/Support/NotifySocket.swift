import Foundation
import Synchronization
@testable import Warren

#if canImport(Glibc)
import Glibc
#endif

/// A datagram socket standing in for systemd's notification socket: bound at a fresh path, it
/// records every datagram a child process sends to `NOTIFY_SOCKET`, on a thread of its own.
final class NotifySocket: Sendable {
    let path: String
    private let descriptor: Int32
    private let received = Mutex<[String]>([])
    private let open = Atomic<Bool>(true)

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("warren-notify-\(uniqueSuffix()).sock").path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        // The same address the worker's SystemdNotifier sends to.
        guard let target = SystemdNotifier.socketAddress(path) else {
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
                let text = String(decoding: buffer[0..<count], as: UTF8.self)
                received.withLock { $0.append(text) }
            }
        }
        Glibc.close(descriptor)
    }

    /// Every datagram so far, in order of arrival.
    var datagrams: [String] { received.withLock { $0 } }
    /// Every assignment (`KEY=VALUE`) of every datagram so far, in order.
    var assignments: [String] { datagrams.flatMap { $0.split(separator: "\n").map(String.init) } }

    func close() {
        open.store(false, ordering: .relaxed)
        unlink(path)
    }
}
