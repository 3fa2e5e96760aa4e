import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A TCP proxy on 127.0.0.1 in front of the test broker, whose network the test can break the
/// way real networks break, one connection-level fault at a time:
///
/// - `blackhole()`: every connection open now stops carrying bytes either way, and is never
///   closed (a dead host, a dropped route, a firewall losing its state): neither end gets an error;
///   connections made afterwards are relayed normally;
/// - `takeDown()`: every open connection is closed and new ones are closed at once (a broker
///   that is gone), until `bringUp()`.
///
/// A python3 child process (so the proxy never shares the test's threads), controlled by signals
/// and reporting each accept and each fault it applied on stdout; stopped by `stop()`.
final class TCPProxy: Sendable {
    /// The port to connect to instead of the broker's.
    let port: Int
    private let child: ChildProcess

    private init(port: Int, child: ChildProcess) {
        self.port = port
        self.child = child
    }

    /// Starts a proxy forwarding to the broker of `env`.
    static func start(to env: TestEnvironment) async throws -> TCPProxy {
        guard let upstream = URLComponents(string: env.amqpURL)?.port else {
            throw SetupError("the broker URL \(env.amqpURL) names no port for the proxy to forward to")
        }
        let child = try ChildProcess(executable: "python3", arguments: ["-c", script, String(upstream)])
        do {
            let port = try await pollValue(
                timeout: .seconds(10), "the proxy to print its port", lastSeen: { child.stdout.text + child.stderr.text }
            ) {
                if !child.isRunning { throw SetupError("the proxy exited: \(child.stderr.text)") }
                return child.stdout.text.split(separator: "\n").first.flatMap { Int($0) }
            }
            return TCPProxy(port: port, child: child)
        } catch {
            child.forceStop()
            throw error
        }
    }

    /// The broker URL of `env` with the port of this proxy.
    func url(_ env: TestEnvironment) -> String {
        var components = URLComponents(string: env.amqpURL)!
        components.port = port
        return components.string!
    }

    /// How many connections it has relayed to the broker so far.
    var relayedConnections: Int { reports("relayed") }
    /// How many connections it has closed at once while down.
    var refusedConnections: Int { reports("refused") }

    /// Freezes every open connection (see the type's comment); returns once it is applied.
    func blackhole() async throws { try await apply(SIGUSR1, "blackholed") }
    /// Closes every open connection and every new one until `bringUp()`; returns once applied.
    func takeDown() async throws { try await apply(SIGUSR2, "down") }
    /// Relays new connections again; returns once applied.
    func bringUp() async throws { try await apply(SIGHUP, "up") }

    func stop() { child.forceStop() }

    private func reports(_ word: String) -> Int {
        child.stdout.text.split(separator: "\n").filter { $0 == word }.count
    }

    private func apply(_ signal: Int32, _ report: String) async throws {
        let before = reports(report)
        child.send(signal)
        try await poll(timeout: .seconds(10), "the proxy to report \(report)", lastSeen: { self.child.stdout.text + self.child.stderr.text }) {
            if !self.child.isRunning { throw SetupError("the proxy exited: \(self.child.stderr.text)") }
            return self.reports(report) > before
        }
    }

    // Signal handlers only queue the fault; the loop applies it between two selects (every 50 ms
    // at most), so no socket changes under a running select.
    private static let script = """
        import selectors, signal, socket, sys
        upstream = ('127.0.0.1', int(sys.argv[1]))
        server = socket.socket()
        server.bind(('127.0.0.1', 0))
        server.listen(64)
        server.setblocking(False)
        print(server.getsockname()[1], flush=True)
        pending = []
        signal.signal(signal.SIGUSR1, lambda *_: pending.append('blackholed'))
        signal.signal(signal.SIGUSR2, lambda *_: pending.append('down'))
        signal.signal(signal.SIGHUP, lambda *_: pending.append('up'))
        selector = selectors.DefaultSelector()
        selector.register(server, selectors.EVENT_READ)
        peers = {}   # a relayed socket -> the socket its bytes go to
        frozen = []  # blackholed sockets: kept open, never read or written again
        down = False
        def close_pair(sock):
            for s in (sock, peers.get(sock)):
                if s is None:
                    continue
                peers.pop(s, None)
                selector.unregister(s)
                s.close()
        while True:
            for key, _ in selector.select(0.05):
                sock = key.fileobj
                if sock is server:
                    client, _ = server.accept()
                    if down:
                        client.close()
                        print('refused', flush=True)
                        continue
                    client.setblocking(True)
                    try:
                        broker = socket.create_connection(upstream)
                    except OSError:
                        client.close()
                        continue
                    peers[client] = broker
                    peers[broker] = client
                    selector.register(client, selectors.EVENT_READ)
                    selector.register(broker, selectors.EVENT_READ)
                    print('relayed', flush=True)
                elif sock in peers:
                    try:
                        data = sock.recv(65536)
                        if data:
                            peers[sock].sendall(data)
                    except OSError:
                        data = b''
                    if not data:
                        close_pair(sock)
            while pending:
                fault = pending.pop(0)
                if fault == 'blackholed':
                    for s in list(peers):
                        selector.unregister(s)
                        frozen.append(s)
                    peers.clear()
                elif fault == 'down':
                    down = True
                    for s in list(peers):
                        if s in peers:
                            close_pair(s)
                else:
                    down = False
                print(fault, flush=True)
        """
}
