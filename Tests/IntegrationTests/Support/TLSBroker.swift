import Foundation
import Testing

/// The TLS test node: an `OwnBroker` made with `BROKER_TLS_DIR`, so it also has a TLS listener
/// (`WARREN_TEST_AMQPS_PORT`) that requires a client certificate from the test CA and offers
/// SASL EXTERNAL, with certificates `scripts/test-certs.sh` generated for this suite run.
struct TLSBroker: Sendable {
    /// Where the certificates are (see `scripts/test-certs.sh` for the files).
    let certificates: String
    /// The encrypted client key's passphrase, unique per run so that a leak is findable.
    let passphrase: String
    let node: OwnBroker

    /// The node of the suite being run, set by the `.tlsBroker` trait.
    @TaskLocal static var current: TLSBroker?

    static func required() throws -> TLSBroker {
        guard let current else { throw SetupError("this test needs the TLS node: put it in a suite with the .tlsBroker trait") }
        return current
    }

    func file(_ name: String) -> String { "\(certificates)/\(name)" }

    /// The plain-AMQP environment of the running node (pika publishes there).
    func environment() async throws -> TestEnvironment {
        try await node.running(TestEnvironment.current())
    }

    /// `amqps://` URL of the node's TLS listener on `host` (the certificate names `localhost`
    /// and `127.0.0.1`), with `query` appended.
    func url(host: String = "localhost", credentials: String = "guest:guest@", query: String = "") async throws -> String {
        _ = try await environment()
        let port = try await node.exported("WARREN_TEST_AMQPS_PORT")
        return "amqps://\(credentials)\(host):\(port)/" + (query.isEmpty ? "" : "?\(query)")
    }

    /// `WARREN_TLS_*` for the test CA and the plain client key.
    var clientEnvironment: [String: String] {
        ["WARREN_TLS_CA_FILE": file("ca.pem"), "WARREN_TLS_CERT_FILE": file("client.pem"), "WARREN_TLS_KEY_FILE": file("client.key")]
    }
}

/// Gives a suite the TLS node (see `TLSBroker`): certificates and node made lazily by the
/// first test's `environment()`, both deleted when the suite ends.
struct TLSBrokerTrait: SuiteTrait, TestScoping {
    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        await OwnBroker.destroyLeftovers()
        let certificates = "/tmp/warren-it-certs/\(getpid())-\(uniqueSuffix())"
        let passphrase = "Pass" + uniqueSuffix() + "Phrase"
        _ = try await runToolChecked(OwnBroker.repositoryRoot() + "/scripts/test-certs.sh", [certificates, passphrase])
        let node = OwnBroker(scriptEnvironment: ["BROKER_TLS_DIR": certificates])
        try await withCleanup {
            try await TLSBroker.$current.withValue(TLSBroker(certificates: certificates, passphrase: passphrase, node: node)) {
                try await function()
            }
        } cleanup: {
            await node.destroy()
            try? FileManager.default.removeItem(atPath: certificates)
        }
    }
}

extension Trait where Self == TLSBrokerTrait {
    /// The suite gets the TLS node, `TLSBroker.current`.
    static var tlsBroker: Self { Self() }
}
