import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback port nothing listens on: connecting to it is refused at once.
///
/// The kernel hands out a free port for a bound socket that is then closed; it could in theory
/// give the same port to another socket a moment later, which no test here does.
func unusedLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw SetupError("socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { throw SetupError("bind 127.0.0.1:0: \(String(cString: strerror(errno)))") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A TCP listener on 127.0.0.1 that accepts every connection and never sends a byte: a broker
/// address that is reachable but hangs (a half-dead host, a firewall that accepts, a proxy
/// whose backend is gone). With `closing: true` it closes each connection at once instead: a
/// broker address where every connect attempt fails fast, whose attempts it counts. A python3
/// child process, stopped by `stop()`.
final class BlackholeListener: Sendable {
    let port: Int
    private let child: ChildProcess

    private init(port: Int, child: ChildProcess) {
        self.port = port
        self.child = child
    }

    static func start(closing: Bool = false) async throws -> BlackholeListener {
        let child = try ChildProcess(executable: "python3", arguments: ["-c", script, closing ? "close" : "hold"])
        do {
            let port = try await pollValue(
                timeout: .seconds(10), "the blackhole listener to print its port",
                lastSeen: { child.stdout.text + child.stderr.text }
            ) {
                if !child.isRunning { throw SetupError("blackhole listener exited: \(child.stderr.text)") }
                return child.stdout.text.split(separator: "\n").first.flatMap { Int($0) }
            }
            return BlackholeListener(port: port, child: child)
        } catch {
            child.forceStop()
            throw error
        }
    }

    /// How many connections it has accepted so far (it prints one line per accept).
    var acceptedConnections: Int {
        child.stdout.text.split(separator: "\n").dropFirst().count
    }

    func stop() { child.forceStop() }

    private static let script = """
        import socket, sys
        closing = sys.argv[1] == 'close'
        server = socket.socket()
        server.bind(('127.0.0.1', 0))
        server.listen(64)
        print(server.getsockname()[1], flush=True)
        held = []
        while True:
            connection, peer = server.accept()
            if closing:
                connection.close()
            else:
                held.append(connection)  # kept open, never written to
            print('accepted', peer[1], flush=True)
        """
}
