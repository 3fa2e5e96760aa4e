import Testing
import Warren
@testable import WarrenCLI

/// The executable's layers: flags > `WARREN_*` (swift-configuration's environment provider) >
/// the `--config` file (JSON or YAML) > defaults, per setting, with
/// real files; the file is JSON or the YAML subset `YAMLSettings` reads.
@Suite struct SettingsLayersTests {
    let files = TemporaryFiles()

    func configuration(flags: [String: String] = [:], environment: [String: String] = [:], configPath: String? = nil) throws -> WorkerConfiguration {
        try WorkerConfiguration(resolving: SettingsLayers.resolver(flags: flags, configPath: configPath, environment: environment))
    }

    @Test func flagBeatsEnvironmentBeatsFileBeatsDefaultPerSetting() throws {
        let path = files.write("warren.json", """
            {"prefetch": 3, "concurrency": 30, "queue": "from-file", "heartbeat": "7s"}
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
        let flagged = files.write("a.json", #"{"queue": "from-flag-file"}"#)
        let variable = files.write("b.json", #"{"queue": "from-env-file"}"#)
        #expect(try configuration(environment: ["WARREN_CONFIG": variable], configPath: flagged).broker.queue == "from-flag-file")
        #expect(try configuration(environment: ["WARREN_CONFIG": variable]).broker.queue == "from-env-file")
    }

    @Test func aJSONFileReadsNumbersBooleansAndLists() throws {
        let json = files.write("w.json", """
            {"queue": "orders", "prefetch": 10, "existing-queue": true, "amqp-shuffle": false,
             "retry-delays": ["1s", "5m"], "bind": ["orders=created", "orders=paid"],
             "schedule": ["nightly=@daily", "tick=@every 5m"], "crash-limit": null}
            """)
        let fromJSON = try configuration(configPath: json)
        #expect(fromJSON.broker.queue == "orders" && fromJSON.prefetch == 10 && fromJSON.existingQueue && !fromJSON.broker.shuffle)
        #expect(fromJSON.retryPolicy.delays == [.seconds(1), .seconds(300)])
        #expect(fromJSON.bindings.map(\.bindingKey) == ["created", "paid"])
        #expect(fromJSON.schedules.map(\.name) == ["nightly", "tick"])
        // `null` leaves the setting to its default, as if the key were absent.
        #expect(fromJSON.crashLimit == (try configuration()).crashLimit)
        // The same settings as variables give the same configuration: one set of rules.
        let fromEnvironment = try configuration(environment: [
            "WARREN_QUEUE": "orders", "WARREN_PREFETCH": "10", "WARREN_EXISTING_QUEUE": "true", "WARREN_AMQP_SHUFFLE": "false",
            "WARREN_RETRY_DELAYS": "1s,5m", "WARREN_BIND": "orders=created,orders=paid", "WARREN_SCHEDULE": "nightly=@daily;tick=@every 5m",
        ])
        #expect(fromJSON == fromEnvironment)
        // Lists may also be written as the variable's one string.
        let text = try configuration(configPath: files.write("s.json", #"{"retry-delays": "1s,5m"}"#))
        #expect(text.retryPolicy.delays == [.seconds(1), .seconds(300)])
    }

    @Test(arguments: [
        ("bad.json", #"{"prefetch": 0}"#, "prefetch in", "integer from 1 to 65535"),
        ("bad1.json", #"{"prefetch": 1.5}"#, "prefetch in", "integer from 1 to 65535"),
        ("bad2.json", #"{"queue-type": "stream"}"#, "queue-type in", "one of: quorum, classic"),
        ("bad3.json", #"{"heartbeat": "soon"}"#, "heartbeat in", "duration"),
        ("bad4.json", #"{"queue": ["a", "b"]}"#, "queue in", "a single value"),
        ("bad5.json", #"{"queue": {"name": "a"}}"#, "queue in", "a single value"),
        ("bad6.json", #"{"bind": ["a=b", 1]}"#, "bind in", "a string or a list of strings"),
        ("bad7.json", #"{"existing-queue": "maybe"}"#, "existing-queue in", "true or false"),
        // JSON's booleans are `true` and `false`; other spellings meet the variables' rules.
        ("one.json", #"{"existing-queue": 1}"#, "existing-queue in", "true or false"),
        ("yes.json", #"{"existing-queue": "yes"}"#, "existing-queue in", "true or false"),
        ("hex.json", #"{"prefetch": "0x10"}"#, "prefetch in", "integer from 1 to 65535"),
        ("bool.json", #"{"prefetch": true}"#, "prefetch in", "integer from 1 to 65535"),
        // A misspelt or nested key is refused rather than leaving its setting at the default.
        ("typo.json", #"{"queue": "q", "prefech": 5}"#, "prefech in", "is not a Warren setting"),
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
        let viaFile = files.write("p.json", #"{"amqp-url": "amqp://app@broker/", "amqp-password-file": "\#(secret)"}"#)
        #expect(try configuration(configPath: viaFile).broker.url.password == "s3cret")
        let both = files.write("both.json", #"{"amqp-password": "hunter2", "amqp-password-file": "\#(secret)"}"#)
        #expect {
            try configuration(configPath: both)
        } throws: { error in
            (error as? ConfigurationError)?.key == "amqp-password-file in \(both)" && !"\(error)".contains("hunter2")
        }
        // A secret of the wrong shape is refused without quoting it.
        let listed = files.write("listed.json", #"{"amqp-password": ["hunter2"]}"#)
        #expect {
            try configuration(configPath: listed)
        } throws: { error in
            (error as? ConfigurationError)?.key == "amqp-password in \(listed)" && !"\(error)".contains("hunter2")
        }
        // The environment's X_FILE is a different layer: it wins over the file's X.
        let inFile = files.write("pw.json", #"{"amqp-password": "from-file"}"#)
        let url = try configuration(environment: ["WARREN_AMQP_PASSWORD_FILE": secret], configPath: inFile).broker.url
        #expect(url.password == "s3cret")
    }

    @Test func anUnusableFileNamesTheKeyThatNamedItWithoutItsContents() {
        let cases: [(configPath: String?, environment: [String: String], key: String)] = [
            (files.directory + "/missing.json", [:], "--config"),
            (nil, ["WARREN_CONFIG": files.directory + "/missing.json"], "WARREN_CONFIG"),
            (files.write("w.toml", "queue = 'x'\n"), [:], "--config"),
            (files.write("m.json", #"{"amqp-password": "hunter2""#), [:], "--config"),
            (files.write("list.json", #"["amqp-password", "hunter2"]"#), [:], "--config"),
            (files.write("empty.json", ""), [:], "--config"),
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

    /// A `.yaml`/`.yml` file is a layer like the JSON one: the same keys, the same precedence,
    /// the same validation naming `KEY in PATH`.
    @Test(arguments: ["warren.yaml", "warren.yml"])
    func aYAMLFileIsALayerLikeTheJSONOne(name: String) throws {
        let json = files.write("same.json", """
            {"queue": "orders", "prefetch": 10, "existing-queue": true, "amqp-shuffle": false,
             "retry-delays": ["1s", "5m"], "bind": ["orders=created", "orders=paid"],
             "schedule": ["nightly=@daily", "tick=@every 5m"], "crash-limit": null}
            """)
        let yaml = files.write(name, """
            # shared by every replica
            queue: orders
            prefetch: 10
            existing-queue: true
            amqp-shuffle: False
            retry-delays: [1s, '5m']
            bind:
              - orders=created
              - "orders=paid"
            schedule:
            - nightly=@daily   # YAML reads '@' only inside a value
            - tick=@every 5m
            crash-limit: ~
            """)
        let fromYAML = try configuration(configPath: yaml)
        #expect(fromYAML == (try configuration(configPath: json)))
        #expect(fromYAML.schedules.map(\.name) == ["nightly", "tick"])
        #expect(fromYAML.bindings.map(\.bindingKey) == ["created", "paid"])
        #expect(try configuration(environment: ["WARREN_PREFETCH": "4"], configPath: yaml).prefetch == 4, "the environment beats the file")
    }

    /// A YAML file that is not in the subset warren reads stops it naming the file's key and the
    /// line, never quoting the text; a bad value names `KEY in PATH`, as in JSON.
    @Test func aYAMLFileOutsideTheSubsetOrWithABadValueIsRefusedByLine() throws {
        let nested = files.write("nested.yaml", "amqp-password: hunter2\ntls:\n  ca-file: /ca.pem\n")
        #expect {
            try configuration(configPath: nested)
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.key == "--config" && error.value == nested && error.problem.contains("line 3:")
                && error.problem.contains("nested mappings") && !"\(error)".contains("hunter2")
        }
        let octal = files.write("octal.yml", "amqp-password: hunter2\nprefetch: 010\n")
        #expect {
            try configuration(environment: ["WARREN_CONFIG": octal])
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.key == "WARREN_CONFIG" && error.problem.contains("line 2:") && error.problem.contains("quote it")
                && !"\(error)".contains("hunter2")
        }
        let zero = files.write("zero.yaml", "amqp-password: hunter2\nprefetch: 0\n")
        #expect {
            try configuration(configPath: zero)
        } throws: { error in
            (error as? ConfigurationError)?.key == "prefetch in \(zero)" && !"\(error)".contains("hunter2")
        }
    }

    @Test func aFileNamedNeitherJSONNorYAMLIsRefused() {
        let path = files.write("warren.toml", "queue = 'orders'\n")
        #expect {
            try configuration(configPath: path)
        } throws: { error in
            (error as? ConfigurationError)?.problem.contains(".yaml or .yml") == true
        }
    }
}
