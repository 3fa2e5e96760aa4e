import Testing
import Warren
@testable import WarrenCLI

/// The executable's layers on swift-configuration: flags > `WARREN_*` > the `--config` file
/// (YAML or JSON) > defaults, per setting, with real files.
@Suite struct SettingsLayersTests {
    let files = TemporaryFiles()

    func configuration(flags: [String: String] = [:], environment: [String: String] = [:], configPath: String? = nil) throws -> WorkerConfiguration {
        try WorkerConfiguration(resolving: SettingsLayers.resolver(flags: flags, configPath: configPath, environment: environment))
    }

    @Test func flagBeatsEnvironmentBeatsFileBeatsDefaultPerSetting() throws {
        let path = files.write("warren.yaml", """
            prefetch: 3
            concurrency: 30
            queue: from-file
            heartbeat: 7s
            """)
        let configuration = try configuration(
            flags: ["prefetch": "1"], environment: ["WARREN_PREFETCH": "2", "WARREN_CONCURRENCY": "20"], configPath: path)
        #expect(configuration.prefetch == 1)
        #expect(configuration.concurrency == 20)
        #expect(configuration.broker.queue == "from-file")
        #expect(configuration.heartbeat == .seconds(7))
        #expect(configuration.shutdownTimeout == .seconds(25), "the default")
    }

    @Test func theFileIsNamedByTheFlagOrElseWarrenConfig() throws {
        let flagged = files.write("a.yaml", "queue: from-flag-file\n")
        let variable = files.write("b.yaml", "queue: from-env-file\n")
        #expect(try configuration(environment: ["WARREN_CONFIG": variable], configPath: flagged).broker.queue == "from-flag-file")
        #expect(try configuration(environment: ["WARREN_CONFIG": variable]).broker.queue == "from-env-file")
    }

    @Test func yamlAndJSONFilesReadTheSameSettings() throws {
        let yaml = files.write("w.yml", """
            queue: orders
            prefetch: 10
            existing-queue: true
            amqp-shuffle: false
            retry-delays: [1s, 5m]
            bind: [orders=created, orders=paid]
            schedule: ["nightly=@daily", "tick=@every 5m"]
            """)
        let json = files.write("w.json", """
            {"queue": "orders", "prefetch": 10, "existing-queue": true, "amqp-shuffle": false,
             "retry-delays": ["1s", "5m"], "bind": ["orders=created", "orders=paid"],
             "schedule": ["nightly=@daily", "tick=@every 5m"]}
            """)
        let fromYAML = try configuration(configPath: yaml)
        let fromJSON = try configuration(configPath: json)
        #expect(fromYAML == fromJSON)
        #expect(fromYAML.broker.queue == "orders" && fromYAML.prefetch == 10 && fromYAML.existingQueue && !fromYAML.broker.shuffle)
        #expect(fromYAML.retryPolicy.delays == [.seconds(1), .seconds(300)])
        #expect(fromYAML.bindings.map(\.bindingKey) == ["created", "paid"])
        #expect(fromYAML.schedules.map(\.name) == ["nightly", "tick"])
        // Lists may also be written as the variable's one string.
        let text = try configuration(configPath: files.write("s.yaml", "retry-delays: 1s,5m\n"))
        #expect(text.retryPolicy.delays == [.seconds(1), .seconds(300)])
    }

    @Test(arguments: [
        ("bad.yaml", "prefetch: 0\n", "prefetch in", "integer from 1 to 65535"),
        ("bad.json", #"{"prefetch": 1.5}"#, "prefetch in", "integer from 1 to 65535"),
        ("bad2.yaml", "queue-type: stream\n", "queue-type in", "one of: quorum, classic"),
        ("bad2.json", #"{"heartbeat": "soon"}"#, "heartbeat in", "duration"),
        ("bad3.json", #"{"queue": ["a", "b"]}"#, "queue in", "a single value"),
        ("bad4.yaml", "existing-queue: maybe\n", "existing-queue in", "true or false"),
        // YAML's looser literals meet the variables' rules.
        ("yes.yaml", "existing-queue: yes\n", "existing-queue in", "true or false"),
        ("hex.yaml", "prefetch: 0x10\n", "prefetch in", "integer from 1 to 65535"),
        // A misspelt or nested key is refused rather than leaving its setting at the default.
        ("typo.yaml", "queue: q\nprefech: 5\n", "prefech in", "is not a Warren setting"),
        ("nested.json", #"{"tls": {"ca-file": "/ca.pem"}}"#, "tls in", "is not a Warren setting"),
    ])
    func anInvalidValueInTheFileExitsNamingTheKeyAndTheFile(name: String, contents: String, key: String, problem: String) {
        let path = files.write(name, contents)
        #expect {
            try configuration(configPath: path)
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.key == "\(key) \(path)" && error.problem.contains(problem)
        }
    }

    @Test func aSecretFromTheFileOrItsFileButNotBoth() throws {
        let secret = files.write("password", "s3cret\n")
        let viaFile = files.write("p.yaml", "amqp-url: amqp://app@broker/\namqp-password-file: \(secret)\n")
        #expect(try configuration(configPath: viaFile).broker.url.password == "s3cret")
        let both = files.write("both.yaml", "amqp-password: hunter2\namqp-password-file: \(secret)\n")
        #expect {
            try configuration(configPath: both)
        } throws: { error in
            (error as? ConfigurationError)?.key == "amqp-password-file in \(both)" && !"\(error)".contains("hunter2")
        }
        // The environment's X_FILE is a different layer: it wins over the file's X.
        let inFile = files.write("pw.yaml", "amqp-password: from-file\n")
        let url = try configuration(environment: ["WARREN_AMQP_PASSWORD_FILE": secret], configPath: inFile).broker.url
        #expect(url.password == "s3cret")
    }

    @Test func anUnusableFileNamesTheKeyThatNamedItWithoutItsContents() {
        let malformed = files.write("m.yaml", "queue: [unclosed\namqp-password: hunter2\n")
        let cases: [(configPath: String?, environment: [String: String], key: String)] = [
            (files.directory + "/missing.yaml", [:], "--config"),
            (nil, ["WARREN_CONFIG": files.directory + "/missing.json"], "WARREN_CONFIG"),
            (files.write("w.toml", "queue = 'x'\n"), [:], "--config"),
            (malformed, [:], "--config"),
            (files.write("m.json", #"{"amqp-password": "hunter2""#), [:], "--config"),
            ("", [:], "--config"),
        ]
        for (configPath, environment, key) in cases {
            #expect {
                try configuration(environment: environment, configPath: configPath)
            } throws: { error in
                (error as? ConfigurationError)?.key == key && !"\(error)".contains("hunter2")
            }
        }
    }
}
