import Foundation
import Testing

extension BrokerTests {
    /// `--config`/`WARREN_CONFIG` files and `warren config`, with the real binary.
    @Suite("Configuration file and warren config")
    struct ConfigFile {
        /// A fresh file in the temporary directory holding `text`.
        static func write(_ name: String, _ text: String) throws -> String {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("warren-config-\(uniqueSuffix())-\(name)").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        static func runConfig(_ env: TestEnvironment, _ arguments: [String], environment: [String: String]) async throws -> ToolResult {
            try await runTool(
                env.warrenBinary, ["config"] + arguments, environment: environment,
                removingEnvironment: { $0.hasPrefix("WARREN_") }, timeout: .seconds(30))
        }

        /// The line of `setting` in `warren config`'s table, split into its three columns.
        static func row(_ stdout: String, _ setting: String) -> (source: String, value: String)? {
            for line in stdout.split(separator: "\n") {
                let columns = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
                guard columns.count == 2, columns[0] == setting else { continue }
                // SOURCE is "flag --x", "env WARREN_X", "file PATH" or "default": two words but the last.
                let rest = columns[1].split(separator: " ", omittingEmptySubsequences: true)
                let words = rest.first == "default" ? 1 : 2
                return (rest.prefix(words).joined(separator: " "), rest.dropFirst(words).joined(separator: " "))
            }
            return nil
        }

        @Test("warren config prints each setting's source, secrets redacted, and exits 0")
        func configPrintsSourcesAndRedacts() async throws {
            let env = try TestEnvironment.current()
            let password = "Pw" + uniqueSuffix() + "Zq"
            let passwordFile = try Self.write("password", password + "\n")
            let file = try Self.write("warren.json", """
                {"amqp-url": "amqp://app:\(password)@broker.example:5672/", "queue": "from-file", "prefetch": 3,
                 "concurrency": 4, "amqp-password-file": "\(passwordFile)"}
                """)
            let result = try await Self.runConfig(
                env, ["--prefetch", "1", "--config", file], environment: ["WARREN_CONCURRENCY": "2"])
            #expect(result.termination == .exited(0), "\(result)")
            #expect(Self.row(result.stdout, "prefetch").map { "\($0.source)|\($0.value)" } == "flag --prefetch|1", "\(result)")
            #expect(Self.row(result.stdout, "concurrency").map { "\($0.source)|\($0.value)" } == "env WARREN_CONCURRENCY|2", "\(result)")
            #expect(Self.row(result.stdout, "queue").map { "\($0.source)|\($0.value)" } == "file \(file)|from-file", "\(result)")
            #expect(Self.row(result.stdout, "log-level").map { "\($0.source)|\($0.value)" } == "default|info", "\(result)")
            #expect(Self.row(result.stdout, "amqp-password").map { "\($0.source)|\($0.value)" } == "file \(file)|<redacted>", "\(result)")
            #expect(Self.row(result.stdout, "amqp-url")?.value == "amqp://app:<redacted>@broker.example:5672/", "\(result)")
            #expect(!result.output.contains(password), "the password appears nowhere:\n\(result)")
        }

        @Test("warren config exits 78 on an invalid setting in the file, naming the key and the file")
        func configExits78OnAnInvalidFileValue() async throws {
            let env = try TestEnvironment.current()
            let password = "Pw" + uniqueSuffix() + "Zq"
            let file = try Self.write("bad.json", #"{"amqp-password": "\#(password)", "prefetch": 0}"#)
            let fromEnv = try await Self.runConfig(env, [], environment: ["WARREN_CONFIG": file])
            #expect(fromEnv.termination == .exited(78), "\(fromEnv)")
            #expect(fromEnv.stderr.contains("prefetch in \(file)"), "\(fromEnv)")
            #expect(!fromEnv.output.contains(password), "\(fromEnv)")
            // The flag fixes it: flags win over the file.
            let fixed = try await Self.runConfig(env, ["--prefetch", "5"], environment: ["WARREN_CONFIG": file])
            #expect(fixed.termination == .exited(0), "\(fixed)")
            #expect(!fixed.output.contains(password), "\(fixed)")
        }

        /// A YAML file outside the subset warren reads stops both commands naming the line and
        /// the reason, never the text (a password written in by mistake stays out of the output).
        @Test("warren worker and warren config exit 78 on YAML outside the subset, naming the line, not the text")
        func yamlOutsideTheSubsetIsRefusedByLine() async throws {
            let env = try TestEnvironment.current()
            let password = "Pw" + uniqueSuffix() + "Zq"
            let file = try Self.write("warren.yaml", "queue: from-yaml\namqp-password: &pw \(password)\n")
            let config = try await Self.runConfig(env, ["--config", file], environment: [:])
            let worker = try await runTool(
                env.warrenBinary, ["worker"], environment: ["WARREN_CONFIG": file],
                removingEnvironment: { $0.hasPrefix("WARREN_") }, timeout: .seconds(30))
            for (result, key) in [(config, "--config"), (worker, "WARREN_CONFIG")] {
                #expect(result.termination == .exited(78), "\(result)")
                #expect(result.stderr.contains(key) && result.stderr.contains("line 2: anchors"), "\(result)")
                #expect(!result.output.contains(password), "\(result)")
            }
        }

        /// The tools read the worker's file too, so they reach its broker and declare its queue.
        @Test("warren publish --config file.json publishes to the broker and queue the file names")
        func publishReadsTheFile() async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("config.publish") { queue in
                let file = try Self.write("publish.json", #"{"amqp-url": "\#(env.amqpURL)", "queue": "\#(queue)", "queue-type": "classic"}"#)
                let publish = try await warrenPublish(env, ["--config", file, "--count", "3"])
                #expect(publish.succeeded, "\(publish)")
                let queues = try await broker.listQueues()
                #expect(queues[queue]?.type == "classic", "\(queues[queue].map(\.description) ?? "missing")")
                #expect(queues[queue]?.messages == 3, "\(queues[queue].map(\.description) ?? "missing")")
            }
        }

        @Test("warren worker --config FILE (JSON or YAML) consumes the queue the file names", arguments: ["worker.json", "worker.yaml"])
        func workerConsumesTheFilesQueue(name: String) async throws {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            try await broker.withQueue("config.file") { queue in
                // The broker and the queue come from this file alone.
                let file = try Self.write(name, name.hasSuffix(".json") ? """
                    {"amqp-url": "\(env.amqpURL)", "queue": "\(queue)", "queue-type": "classic", "log-level": "debug"}
                    """ : """
                    # the worker's settings
                    amqp-url: \(env.amqpURL)
                    queue: '\(queue)'
                    queue-type: classic   # not the default quorum
                    log-level: debug
                    """)
                let worker = try WarrenProcess.launch(env, ["worker", "--config", file])
                defer { worker.forceStop() }
                let consuming = try await worker.waitForEvent("worker.consuming")
                #expect(consuming["queue"] == queue, "\(consuming)")
                let queues = try await broker.listQueues()
                #expect(queues[queue]?.type == "classic", "queue-type from the file")

                let id = "config-file-\(uniqueSuffix())"
                try await broker.pikaPublish(queue: queue, messages: [(id, "{}")])
                // message.acked is a debug line: log-level from the file too.
                try await poll(timeout: .seconds(20), "the message is acked", lastSeen: { worker.transcript }) {
                    worker.ackedIDs.contains(id)
                }
                let (end, _) = try await worker.stop(with: SIGTERM, timeout: .seconds(20))
                #expect(end == .exited(0), "\(worker.transcript)")
            }
        }
    }
}
