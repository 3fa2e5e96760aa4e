import Testing
import WarrenAMQP
@testable import Warren

@Suite struct SecretSettingsTests {
    struct Missing: Error, CustomStringConvertible {
        var description: String { "No such file or directory" }
    }

    static func files(_ contents: [String: String]) -> @Sendable (String) throws -> String {
        { path in
            guard let text = contents[path] else { throw Missing() }
            return text
        }
    }

    @Test func theURLComesFromItsFileWithoutTheTrailingNewline() throws {
        let settings = SettingsResolver(
            flags: [:], environment: ["WARREN_AMQP_URL_FILE": "/run/secrets/url"],
            readFile: Self.files(["/run/secrets/url": "amqp://u:s3cret@broker:5673/v\n"]))
        let broker = try BrokerConfiguration(resolving: settings)
        #expect(broker.url.password == "s3cret" && broker.url.host == "broker" && broker.url.port == 5673)
    }

    @Test func thePasswordReplacesTheURLs() throws {
        let settings = SettingsResolver(
            flags: [:],
            environment: ["WARREN_AMQP_URL": "amqp://app@broker/", "WARREN_AMQP_PASSWORD_FILE": "/p"],
            readFile: Self.files(["/p": "pa ss\r\n"]))
        let url = try BrokerConfiguration(resolving: settings).url
        #expect(url.user == "app" && url.password == "pa ss")
        #expect(!url.redacted.contains("pa ss"))
        let plain = SettingsResolver(flags: [:], environment: ["WARREN_AMQP_URL": "amqp://app:old@broker/", "WARREN_AMQP_PASSWORD": "new"])
        #expect(try BrokerConfiguration(resolving: plain).url.password == "new")
    }

    @Test func anUnreadableFileNamesTheKeyAndThePathButNoValue() {
        let settings = SettingsResolver(flags: [:], environment: ["WARREN_AMQP_PASSWORD_FILE": "/nope"], readFile: Self.files([:]))
        #expect {
            try BrokerConfiguration(resolving: settings)
        } throws: { error in
            let error = error as? ConfigurationError
            return error?.key == "WARREN_AMQP_PASSWORD_FILE" && "\(error!)".contains("/nope") && "\(error!)".contains("No such file")
        }
    }

    @Test func bothTheVariableAndItsFileIsAnError() {
        let settings = SettingsResolver(
            flags: [:], environment: ["WARREN_AMQP_URL": "amqp://a:b@h/", "WARREN_AMQP_URL_FILE": "/u"],
            readFile: Self.files(["/u": "amqp://c:d@h/"]))
        #expect {
            try BrokerConfiguration(resolving: settings)
        } throws: { error in
            (error as? ConfigurationError)?.key == "WARREN_AMQP_URL_FILE" && !"\(error)".contains("amqp://c:d")
        }
    }

    @Test func aBadURLFromAFileIsShownRedacted() {
        let settings = SettingsResolver(
            flags: [:], environment: ["WARREN_AMQP_URL_FILE": "/u"], readFile: Self.files(["/u": "amqp://c:hunter2@h:notaport/"]))
        #expect {
            try BrokerConfiguration(resolving: settings)
        } throws: { error in
            (error as? ConfigurationError)?.key == "WARREN_AMQP_URL_FILE" && !"\(error)".contains("hunter2")
        }
    }

    /// Found by fuzz/SettingsFuzz.swift: a URL file holding no "@" (the bare password, put in
    /// the wrong file, or a URL missing its host) was quoted in the error, whole or as the port.
    @Test(arguments: ["hunter2\n", "hunter2:5672", "amqp://u:hunter2", "amqp://[::1]:hunter2x"])
    func aURLFileThatDoesNotParseIsNeverQuoted(contents: String) {
        let settings = SettingsResolver(
            flags: [:], environment: ["WARREN_AMQP_URL_FILE": "/u"], readFile: Self.files(["/u": contents]))
        #expect {
            try BrokerConfiguration(resolving: settings)
        } throws: { error in
            (error as? ConfigurationError)?.key == "WARREN_AMQP_URL_FILE" && !"\(error)".contains("hunter2")
        }
    }

    @Test func deadLetterReasonsAreBounded() {
        #expect(DeadLetterReason(UndecodableMessage("x")) == .undecodable)
        #expect(DeadLetterReason(HandlerTimeout(timeout: .seconds(1))) == .handlerTimeout)
        #expect(DeadLetterReason(Missing()) == .handlerError)
    }
}

@Suite struct TLSSettingsTests {
    @Test func tlsFilesAndThePassphraseComeFromTheEnvironment() throws {
        let settings = SettingsResolver(
            flags: ["tls-ca-file": "/flag/ca.pem"],
            environment: [
                "WARREN_TLS_CA_FILE": "/env/ca.pem", "WARREN_TLS_CERT_FILE": "/c.pem", "WARREN_TLS_KEY_FILE": "/k.pem",
                "WARREN_TLS_KEY_PASSWORD_FILE": "/run/secrets/pw",
            ],
            readFile: SecretSettingsTests.files(["/run/secrets/pw": "s3cret\n"]))
        let tls = try BrokerConfiguration(resolving: settings).tls
        #expect(tls.caCertificateFile == "/flag/ca.pem" && tls.certificateFile == "/c.pem" && tls.keyFile == "/k.pem")
        #expect(tls.keyPassword == "s3cret")
        #expect(tls.verifyPeer)
    }

    @Test func thePassphraseAndItsFileTogetherAreAnErrorWithoutTheValue() {
        let settings = SettingsResolver(
            flags: [:], environment: ["WARREN_TLS_KEY_PASSWORD": "SECRET", "WARREN_TLS_KEY_PASSWORD_FILE": "/p"],
            readFile: SecretSettingsTests.files(["/p": "SECRET"]))
        #expect {
            try BrokerConfiguration(resolving: settings)
        } throws: { error in
            "\(error)".contains("WARREN_TLS_KEY_PASSWORD_FILE") && !"\(error)".contains("SECRET")
        }
    }

    @Test func noTLSSettingsMeansDefaults() throws {
        let broker = try BrokerConfiguration(resolving: SettingsResolver(flags: [:], environment: [:]))
        #expect(broker.tls == TLSConfiguration())
        var worker = try WorkerConfiguration(resolving: SettingsResolver(flags: [:], environment: ["WARREN_TLS_KEY_PASSWORD": "SECRET"]))
        #expect(!"\(worker.loggedSettings)".contains("SECRET"))
        worker.broker.tls.keyFile = "/k.pem"
        #expect(worker.connection(named: "n").tls.keyFile == "/k.pem")
    }
}
