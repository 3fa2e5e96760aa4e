import Testing
import Warren

/// `SettingsResolver` over layers: the first layer that sets a setting wins, per setting; a
/// secret's `NAME` and `NAME-file` conflict only within one layer. The `warren` executable's
/// file layer is tested with real files in WarrenCLITests (`SettingsLayersTests`).
@Suite struct SettingsLayerTests {
    /// A file-like layer over a dictionary keyed by setting name (`prefetch`).
    static func file(_ values: [String: String]) -> SettingsLayer {
        SettingsLayer(source: .file, readsSecretFiles: true, keyName: { "\($0) in test.yaml" }) { name, _ in values[name] }
    }

    static func resolver(flags: [String: String] = [:], environment: [String: String] = [:], file: [String: String] = [:],
                         secretFiles: [String: String] = [:]) -> SettingsResolver {
        SettingsResolver(layers: [.flags(flags), .environment(environment), Self.file(file)]) { path in
            guard let text = secretFiles[path] else { throw SecretSettingsTests.Missing() }
            return text
        }
    }

    @Test func eachSettingTakesTheFirstLayerThatSetsIt() throws {
        let settings = Self.resolver(
            flags: ["prefetch": "1"],
            environment: ["WARREN_PREFETCH": "2", "WARREN_CONCURRENCY": "20"],
            file: ["prefetch": "3", "concurrency": "30", "queue": "from-file"])
        let configuration = try WorkerConfiguration(resolving: settings)
        #expect(configuration.prefetch == 1, "flag beats env and file")
        #expect(configuration.concurrency == 20, "env beats file")
        #expect(configuration.broker.queue == "from-file", "file beats default")
        #expect(configuration.logLevel == .info, "default where nothing sets it")
        #expect(try settings.origin("concurrency")?.source == .environment)
        #expect(try settings.origin("queue")?.key == "queue in test.yaml")
        #expect(try settings.origin("log-level") == nil)
    }

    @Test func anInvalidValueInTheFileNamesItsKeyThere() {
        #expect {
            try WorkerConfiguration(resolving: Self.resolver(file: ["heartbeat": "soon"]))
        } throws: { error in
            (error as? ConfigurationError)?.key == "heartbeat in test.yaml"
        }
    }

    @Test func aSecretAndItsFileInOneLayerIsAnErrorNamingTheFileKey() {
        #expect {
            try BrokerConfiguration(resolving: Self.resolver(
                file: ["amqp-password": "hunter2", "amqp-password-file": "/p"], secretFiles: ["/p": "other"]))
        } throws: { error in
            (error as? ConfigurationError)?.key == "amqp-password-file in test.yaml" && !"\(error)".contains("hunter2")
        }
    }

    @Test func aHigherLayersSecretWinsOverALowerLayersSecretFile() throws {
        let settings = Self.resolver(
            environment: ["WARREN_AMQP_PASSWORD": "from-env"],
            file: ["amqp-password-file": "/p"], secretFiles: ["/p": "from-file\n"])
        #expect(try BrokerConfiguration(resolving: settings).url.password == "from-env")
        let fromFile = Self.resolver(file: ["amqp-password-file": "/p"], secretFiles: ["/p": "from-file\n"])
        #expect(try BrokerConfiguration(resolving: fromFile).url.password == "from-file")
        let origin = try fromFile.secretOrigin("amqp-password")
        #expect(origin?.source == .file && origin?.isFile == true && origin?.key == "amqp-password-file in test.yaml")
    }

    @Test func aSecretFilesURLThatDoesNotParseIsNotShown() {
        #expect {
            try BrokerConfiguration(resolving: Self.resolver(file: ["amqp-url-file": "/u"], secretFiles: ["/u": "hunter2"]))
        } throws: { error in
            (error as? ConfigurationError)?.key == "amqp-url-file in test.yaml" && !"\(error)".contains("hunter2")
        }
    }
}
