import Foundation
import Testing

extension BrokerTests {
    /// `amqps://` against a node of the suite's own with a TLS listener (issue 15, test 1). The
    /// listener requires a client certificate signed by the test CA, so every working test
    /// presents one; certificates are made by `scripts/test-certs.sh` for each run.
    @Suite("TLS (amqps://) against a node with a TLS listener", .tlsBroker)
    struct TLS {
        /// With peer and host name verification (the defaults) against the test CA, the worker
        /// consumes what pika publishes (over the node's plain port) and acks it; the broker
        /// reports the worker's connection as TLS. With `heartbeat=2` in the URL, a pause of
        /// two and a half intervals does not lose the connection: heartbeats pass through TLS.
        /// (Not `heartbeat=1`: its 2 s detection window is shorter than the scheduling stalls a
        /// loaded two-core CI machine gives the broker, and this test once lost its connection
        /// that way while a `rabbitmqctl` started beside it.)
        @Test("the worker consumes over verified amqps; heartbeats keep the connection")
        func consumesOverVerifiedTLS() async throws {
            let tls = try TLSBroker.required()
            let env = try await tls.environment()
            let broker = Broker(env)
            let url = try await tls.url(query: "heartbeat=2")
            try await broker.withQueue("tls-consume") { queue in
                let worker = try WarrenProcess.launch(
                    env, ["worker", "--amqp-url", url, "--queue", queue, "--queue-type", "classic", "--log-level", "debug"],
                    environment: tls.clientEnvironment)
                defer { worker.forceStop() }
                try await worker.waitForEvent("worker.consuming", timeout: .seconds(30))
                let first = (0..<20).map { (id: "tls-\($0)-\(uniqueSuffix())", body: "{}") }
                try await broker.pikaPublish(queue: queue, messages: first)
                try await poll(timeout: .seconds(20), "the first 20 acked", lastSeen: { worker.transcript }) {
                    Set(worker.ackedIDs).isSuperset(of: first.map(\.id))
                }

                // Absence of a reconnect cannot be awaited: wait longer than two heartbeat
                // intervals (when a dead connection is detected) and check the same connection
                // still works. Nothing else runs meanwhile: `rabbitmqctl` comes after.
                try await Task.sleep(for: .seconds(5))
                let second = [(id: "tls-after-pause-\(uniqueSuffix())", body: "{}")]
                try await broker.pikaPublish(queue: queue, messages: second)
                try await poll(timeout: .seconds(20), "the message after the pause acked", lastSeen: { worker.transcript }) {
                    worker.ackedIDs.contains(second[0].id)
                }
                #expect(worker.events("worker.connected").count == 1, "one connection throughout:\n\(worker.transcript)")
                let connections = try await broker.rabbitmqctl(["-q", "list_connections", "ssl", "peer_port", "user"])
                #expect(connections.stdout.contains("true"), "the broker sees a TLS connection:\n\(connections)")
                try await broker.waitForCounts(of: queue, "nothing ready or unacked") { $0.ready == 0 && $0.unacknowledged == 0 }
                let (end, _) = try await worker.stop()
                #expect(end == .exited(0), "\(worker.transcript)")
            }
        }

        /// Reconnects work over TLS as over plain AMQP: the node stops (the worker sees the
        /// connection end), starts again on the same ports, and the worker connects again by
        /// itself, with a new TLS handshake, and consumes what is published afterwards.
        @Test("the worker reconnects over amqps after a broker restart")
        func reconnectsOverTLS() async throws {
            let tls = try TLSBroker.required()
            let env = try await tls.environment()
            let url = try await tls.url()
            let queue = "it.tls-restart.\(uniqueSuffix())"
            let worker = try WarrenProcess.launch(
                env, ["worker", "--amqp-url", url, "--queue", queue, "--queue-type", "classic", "--log-level", "debug",
                      "--reconnect-initial-delay", "200ms", "--reconnect-max-delay", "1s"],
                environment: tls.clientEnvironment)
            defer { worker.forceStop() }
            try await worker.waitForEvent("worker.consuming", timeout: .seconds(30))
            try await tls.node.stop()
            try await worker.waitForEvent("worker.connection_lost", timeout: .seconds(30))
            try await tls.node.start()
            try await poll(timeout: .seconds(60), "consuming again after the restart", lastSeen: { worker.transcript }) {
                worker.events("worker.consuming").count == 2
            }
            let id = "tls-after-restart-\(uniqueSuffix())"
            try await Broker(env).pikaPublish(queue: queue, messages: [(id, "{}")])
            try await poll(timeout: .seconds(20), "\(id) acked", lastSeen: { worker.transcript }) { worker.ackedIDs.contains(id) }
            let (end, _) = try await worker.stop()
            #expect(end == .exited(0), "\(worker.transcript)")
            await Broker(env).deleteTopology(of: queue)
        }

        /// A certificate problem is a refusal: the worker names the cause and exits 69 after
        /// `--max-refused-attempts` attempts, like a refused login.
        @Test(
            "a certificate problem is named and the worker exits 69",
            arguments: [
                // The broker's chain is signed by the test CA, not by the CA the worker trusts.
                ("unknown CA", "", ["WARREN_TLS_CA_FILE": "other-ca.pem", "WARREN_TLS_CERT_FILE": "client.pem", "WARREN_TLS_KEY_FILE": "client.key"]),
                // No CA file: the system trust store, which does not hold the test CA.
                ("unknown CA", "", ["WARREN_TLS_CERT_FILE": "client.pem", "WARREN_TLS_KEY_FILE": "client.key"]),
                // The certificate names localhost and 127.0.0.1; the worker expects another name.
                ("host name mismatch", "server_name_indication=broker.example.com",
                 ["WARREN_TLS_CA_FILE": "ca.pem", "WARREN_TLS_CERT_FILE": "client.pem", "WARREN_TLS_KEY_FILE": "client.key"]),
                // The broker rejects an expired client certificate.
                ("rejected the client certificate", "",
                 ["WARREN_TLS_CA_FILE": "ca.pem", "WARREN_TLS_CERT_FILE": "client-expired.pem", "WARREN_TLS_KEY_FILE": "client-expired.key"]),
                // The broker demands a client certificate (fail_if_no_peer_cert) and gets none.
                ("requires a client certificate", "", ["WARREN_TLS_CA_FILE": "ca.pem"]),
            ])
        func certificateProblemExits69(cause: String, query: String, files: [String: String]) async throws {
            let tls = try TLSBroker.required()
            let env = try await tls.environment()
            let url = try await tls.url(host: "127.0.0.1", query: query)
            let worker = try WarrenProcess.launch(
                env, ["worker", "--amqp-url", url, "--queue", "tls-refused-\(uniqueSuffix())", "--queue-type", "classic",
                      "--max-refused-attempts", "2", "--reconnect-initial-delay", "50ms", "--reconnect-max-delay", "100ms"],
                environment: files.mapValues { tls.file($0) })
            defer { worker.forceStop() }
            #expect(try await worker.waitForExit(timeout: .seconds(60)) == .exited(69), "\(worker.transcript)")
            #expect(worker.allOutputLines.contains { $0.contains(cause) }, "the output names '\(cause)':\n\(worker.transcript)")
        }

        /// SASL EXTERNAL: no password anywhere; the broker maps the client certificate's CN to
        /// its user, which is who the connection belongs to.
        @Test("EXTERNAL logs in as the client certificate's user")
        func externalLogin() async throws {
            let tls = try TLSBroker.required()
            let env = try await tls.environment()
            let broker = Broker(env)
            let user = "warren-tls-client"  // the CN scripts/test-certs.sh gives client.pem
            // EXTERNAL never checks this password; the user only has to exist with permissions.
            try await broker.addUser(user, password: "unused-\(uniqueSuffix())")
            defer { Task { await broker.deleteUser(user) } }
            let url = try await tls.url(credentials: "", query: "auth_mechanism=external")
            try await broker.withQueue("tls-external") { queue in
                let worker = try WarrenProcess.launch(
                    env, ["worker", "--amqp-url", url, "--queue", queue, "--queue-type", "classic", "--log-level", "debug"],
                    environment: tls.clientEnvironment)
                defer { worker.forceStop() }
                try await worker.waitForEvent("worker.consuming", timeout: .seconds(30))
                let connections = try await broker.rabbitmqctl(["-q", "list_connections", "user", "auth_mechanism"])
                #expect(
                    connections.stdout.split(separator: "\n").contains { $0.contains(user) && $0.contains("EXTERNAL") },
                    "the broker names the certificate's user and EXTERNAL:\n\(connections)")
                let id = "tls-external-\(uniqueSuffix())"
                try await broker.pikaPublish(queue: queue, messages: [(id, "{}")])
                try await poll(timeout: .seconds(20), "\(id) acked", lastSeen: { worker.transcript }) { worker.ackedIDs.contains(id) }
                _ = try await worker.stop()
            }
        }

        /// Without a CA file the system trust store is used: OpenSSL's default paths, which
        /// `SSL_CERT_FILE` overrides. Pointing it at the test CA stands in for a system store that
        /// holds the broker's CA (as it holds Amazon MQ's public one): the worker connects.
        @Test("without a CA file the system trust store (OpenSSL's default paths) is used")
        func systemTrustStore() async throws {
            let tls = try TLSBroker.required()
            let env = try await tls.environment()
            let url = try await tls.url()
            var files = tls.clientEnvironment
            files["WARREN_TLS_CA_FILE"] = nil
            files["SSL_CERT_FILE"] = tls.file("ca.pem")
            let queue = "it.tls-system.\(uniqueSuffix())"
            let worker = try WarrenProcess.launch(
                env, ["worker", "--amqp-url", url, "--queue", queue, "--queue-type", "classic"], environment: files)
            defer { worker.forceStop() }
            try await worker.waitForEvent("worker.consuming", timeout: .seconds(30))
            _ = try await worker.stop()
            await Broker(env).deleteTopology(of: queue)
        }

        /// `verify=verify_none` trusts whoever answers: with only the other CA trusted it still
        /// connects, and says so at each connect.
        @Test("verify_none connects and warns")
        func verifyNoneWarns() async throws {
            let tls = try TLSBroker.required()
            let env = try await tls.environment()
            let url = try await tls.url(host: "127.0.0.1", query: "verify=verify_none")
            var files = tls.clientEnvironment
            files["WARREN_TLS_CA_FILE"] = tls.file("other-ca.pem")
            let queue = "it.tls-none.\(uniqueSuffix())"
            let worker = try WarrenProcess.launch(
                env, ["worker", "--amqp-url", url, "--queue", queue, "--queue-type", "classic"], environment: files)
            defer { worker.forceStop() }
            try await worker.waitForEvent("worker.consuming", timeout: .seconds(30))
            let warning = try await worker.waitForEvent("connection.tls_verify_disabled", timeout: .seconds(5))
            #expect(warning["level"] == "warning", "\(warning)")
            _ = try await worker.stop()
            await Broker(env).deleteTopology(of: queue)
        }

        /// An encrypted client key with its passphrase from `WARREN_TLS_KEY_PASSWORD` works, and
        /// the passphrase appears nowhere in the output, at trace level.
        @Test("an encrypted key works with its passphrase, which is never printed")
        func encryptedKey() async throws {
            let tls = try TLSBroker.required()
            let env = try await tls.environment()
            let url = try await tls.url()
            var files = tls.clientEnvironment
            files["WARREN_TLS_KEY_FILE"] = tls.file("client-encrypted.key")
            files["WARREN_TLS_KEY_PASSWORD"] = tls.passphrase
            let queue = "tls-key-\(uniqueSuffix())"
            let worker = try WarrenProcess.launch(
                env, ["worker", "--amqp-url", url, "--queue", queue, "--queue-type", "classic", "--log-level", "trace"], environment: files)
            defer { worker.forceStop() }
            try await worker.waitForEvent("worker.consuming", timeout: .seconds(30))
            _ = try await worker.stop()
            #expect(!worker.allOutputLines.contains { $0.contains(tls.passphrase) }, "\(worker.transcript)")

            // Without the passphrase: a refusal that says how to give it, still without secrets.
            files["WARREN_TLS_KEY_PASSWORD"] = nil
            let refused = try WarrenProcess.launch(
                env, ["worker", "--amqp-url", url, "--queue", queue, "--queue-type", "classic",
                      "--max-refused-attempts", "1"], environment: files)
            defer { refused.forceStop() }
            #expect(try await refused.waitForExit(timeout: .seconds(30)) == .exited(69), "\(refused.transcript)")
            #expect(refused.allOutputLines.contains { $0.contains("WARREN_TLS_KEY_PASSWORD") }, "\(refused.transcript)")
            await Broker(env).deleteTopology(of: queue)
        }

        /// A peer that accepts TCP and never answers cannot hold the TLS handshake past the
        /// connection timeout: each attempt fails after about `connection_timeout`, as a
        /// transient failure (the worker keeps trying rather than exiting 69).
        @Test("a silent peer cannot hang the TLS handshake")
        func silentPeerHandshakeIsBounded() async throws {
            let env = try TestEnvironment.current()
            let listener = try await BlackholeListener.start()
            defer { listener.stop() }
            let worker = try WarrenProcess.launch(
                env, ["worker", "--amqp-url", "amqps://guest:guest@127.0.0.1:\(listener.port)/?connection_timeout=1000",
                      "--queue", "tls-silent", "--max-refused-attempts", "1",
                      "--reconnect-initial-delay", "50ms", "--reconnect-max-delay", "100ms"])
            defer { worker.forceStop() }
            // Each attempt ends with `worker.connect_failed` after about the 1 s timeout: the time
            // between two failures is at least the timeout (the handshake did wait) and bounded
            // (it did not hang), with room for a loaded machine.
            _ = try await worker.waitForEvent("worker.connect_failed", timeout: .seconds(20))
            let between = ContinuousClock.now
            try await poll(timeout: .seconds(15), "a second failed attempt", lastSeen: { worker.transcript }) {
                worker.events("worker.connect_failed").count >= 2
            }
            let elapsed = between.duration(to: .now)
            print("TLS handshake against a silent peer: next attempt failed after \(elapsed)")
            #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(8), "\(elapsed)")
            let failure = worker.events("worker.connect_failed")[0]
            #expect(failure["error"]?.contains("TLS handshake timed out after 1 s") == true, "\(failure)")
            #expect(worker.isRunning, "a timeout is transient, not a refusal:\n\(worker.transcript)")
        }
    }
}
