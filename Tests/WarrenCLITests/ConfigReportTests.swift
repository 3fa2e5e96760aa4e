import ArgumentParser
import Testing
import Warren
@testable import WarrenCLI

/// `warren config`'s report: every setting, its source, secrets redacted.
@Suite struct ConfigReportTests {
    let files = TemporaryFiles()

    func report(flags: [String: String] = [:], environment: [String: String] = [:], configPath: String? = nil) throws -> ConfigReport {
        let settings = try SettingsLayers.resolver(flags: flags, configPath: configPath, environment: environment)
        return try ConfigReport(
            configuration: WorkerConfiguration(resolving: settings), handler: settings.choice("handler", default: BuiltInHandler.demo),
            settings: settings)
    }

    func line(_ report: ConfigReport, _ name: String) -> ConfigReport.Line? {
        report.lines.first { $0.name == name }
    }

    @Test func everySettingHasOneLineWithItsSource() throws {
        let path = files.write("w.json", #"{"queue": "orders", "prefetch": 3, "concurrency": 4, "bind": ["a=b", "c=d"], "schedule": ["n=@daily"]}"#)
        let report = try report(flags: ["prefetch": "1"], environment: ["WARREN_CONCURRENCY": "2"], configPath: path)
        #expect(report.lines.map(\.name) == ConfigReport.names)
        #expect(line(report, "prefetch") == .init(name: "prefetch", source: "flag --prefetch", value: "1"))
        #expect(line(report, "concurrency") == .init(name: "concurrency", source: "env WARREN_CONCURRENCY", value: "2"))
        #expect(line(report, "queue") == .init(name: "queue", source: "file \(path)", value: "orders"))
        #expect(line(report, "log-level") == .init(name: "log-level", source: "default", value: "info"))
        #expect(line(report, "handler")?.value == "demo")
        #expect(line(report, "bind") == .init(name: "bind", source: "file \(path)", value: "a=b,c=d"), "lists in the file")
        #expect(line(report, "schedule") == .init(name: "schedule", source: "file \(path)", value: "n=@daily"))
    }

    @Test func secretsAreRedactedWhereverTheyComeFrom() throws {
        let secretFile = files.write("key-password", "kp-hunter2\n")
        let path = files.write("w.json", #"{"tls-key-password-file": "\#(secretFile)"}"#)
        let report = try report(
            flags: ["amqp-url": "amqp://app:url-hunter2@broker:5672/"], environment: ["WARREN_AMQP_PASSWORD": "pw-hunter2"],
            configPath: path)
        #expect(!report.text.contains("hunter2"), "\(report.text)")
        #expect(line(report, "amqp-url")?.value == "amqp://app:<redacted>@broker:5672/")
        #expect(line(report, "amqp-password") == .init(name: "amqp-password", source: "env WARREN_AMQP_PASSWORD", value: "<redacted>"))
        #expect(line(report, "tls-key-password") == .init(name: "tls-key-password", source: "file \(path)", value: "<redacted>"))
        #expect(try self.report().lines.first { $0.name == "amqp-password" }?.value == "none")
    }

    @Test func warrenConfigTakesTheWorkersFlags() throws {
        let command = try WarrenCommand.parseAsRoot(["config", "--prefetch", "9", "--queue", "q", "--config", "/w.json", "--bind", "a=b"])
        let config = try #require(command as? ConfigCommand)
        #expect(config.options.flags["prefetch"] == "9" && config.options.flags["queue"] == "q" && config.options.flags["bind"] == "a=b")
        #expect(config.options.broker.config == "/w.json")
    }
}
