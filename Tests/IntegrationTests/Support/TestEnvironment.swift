import Foundation

/// What the integration tests need from the outside world, read from the environment that
/// `make test` sets up.
///
/// | variable | meaning |
/// |---|---|
/// | `WARREN_TEST_AMQP_URL` | URL of a throwaway broker, e.g. `amqp://guest:guest@127.0.0.1:5673/` (required) |
/// | `WARREN_TEST_RABBITMQCTL` | an executable that runs that broker's `rabbitmqctl` with no other setup (required) |
/// | `WARREN_BINARY` | the built `warren` executable (default `<package root>/.build/debug/warren`) |
///
/// A missing required variable fails the test with a message saying how to run the suite:
/// these tests never pass by skipping their work.
struct TestEnvironment: Sendable {
    /// The broker URL as clients such as `warren` and pika write it (trailing slash = vhost `/`).
    let amqpURL: String
    let rabbitmqctl: String
    let warrenBinary: String

    static func current() throws -> TestEnvironment {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["WARREN_TEST_AMQP_URL"], !url.isEmpty else {
            throw SetupError(
                "WARREN_TEST_AMQP_URL is not set: the integration tests need a RabbitMQ broker. "
                    + "Run `make test`, which starts a broker and sets it.")
        }
        guard let ctl = env["WARREN_TEST_RABBITMQCTL"], !ctl.isEmpty else {
            throw SetupError(
                "WARREN_TEST_RABBITMQCTL is not set: it must name an executable that runs the test broker's "
                    + "rabbitmqctl. Run `make test`, which starts a broker and sets it.")
        }
        guard FileManager.default.isExecutableFile(atPath: ctl) else {
            throw SetupError("WARREN_TEST_RABBITMQCTL=\(ctl) is not an executable file.")
        }
        let binary = env["WARREN_BINARY"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultWarrenBinary()
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw SetupError(
                "warren executable not found at \(binary): build it with `swift build` "
                    + "or point WARREN_BINARY at it (`make test` does both).")
        }
        return TestEnvironment(amqpURL: url, rabbitmqctl: ctl, warrenBinary: binary)
    }

    /// `<package root>/.build/debug/warren`, where the package root is found from this file's path.
    private static func defaultWarrenBinary(filePath: String = #filePath) -> String {
        // <root>/Tests/IntegrationTests/Support/TestEnvironment.swift
        var root = URL(fileURLWithPath: filePath)
        for _ in 0..<4 { root.deleteLastPathComponent() }
        return root.appendingPathComponent(".build/debug/warren").path
    }

    /// The same broker URL in the form librabbitmq's tools (`amqp-publish`, `amqp-get`) read:
    /// they follow the AMQP URI spec strictly, so a bare trailing slash would mean vhost "".
    var amqpToolsURL: String {
        amqpURL.hasSuffix("/") && !amqpURL.hasSuffix("//") ? String(amqpURL.dropLast()) : amqpURL
    }

    /// Host and port of the broker, e.g. `127.0.0.1:5673`.
    var hostAndPort: String {
        guard let components = URLComponents(string: amqpURL), let host = components.host else {
            return "127.0.0.1:5672"
        }
        return "\(host):\(components.port ?? 5672)"
    }

    /// The broker URL with other credentials, e.g. for a user created by a test.
    func url(user: String, password: String) -> String {
        var components = URLComponents(string: amqpURL)!
        components.user = user
        components.password = password
        return components.string!
    }
}

/// A test could not be set up; its description says what to do about it.
struct SetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A short random suffix for queue and user names, so runs and tests never share state.
func uniqueSuffix() -> String {
    String(UInt64.random(in: 0..<UInt64.max), radix: 36)
}
