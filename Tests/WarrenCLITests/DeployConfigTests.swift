import Glibc
import Testing
import Warren
@testable import WarrenCLI

/// The configuration file shipped in deploy/kubernetes/configmap.yaml resolves: every key in it
/// is one Warren reads, with a valid value (`make lint` checks the manifest, not its contents).
@Suite struct DeployConfigTests {
    /// The repository's root, from this file's path (Tests/WarrenCLITests/…).
    static let root = String(#filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/"))

    /// The lines of the `warren.yaml: |` block of the ConfigMap, unindented.
    static func embeddedFile(_ manifest: String) -> String {
        var lines: [Substring] = []
        var indent: Int?
        var inBlock = false
        for line in manifest.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingPrefix(while: { $0 == " " }) == "warren.yaml: |" {
                inBlock = true
                continue
            }
            guard inBlock else { continue }
            let spaces = line.prefix(while: { $0 == " " }).count
            if line.isEmpty { continue }
            if indent == nil { indent = spaces }
            guard spaces >= indent! else { break }
            lines.append(line.dropFirst(indent!))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func theKubernetesConfigMapsFileResolves() throws {
        let manifest = try SecretFile.read(Self.root + "/deploy/kubernetes/configmap.yaml", maximumSize: 64 * 1024)
        let text = Self.embeddedFile(manifest)
        #expect(text.contains("queue: warren.jobs"), "the block was found:\n\(text)")
        let files = TemporaryFiles()
        // The Secret's mounted URL file, as the Deployment provides it.
        let urlFile = files.write("url", "amqp://warren:change-me@rabbitmq:5672/\n")
        let path = files.write("warren.yaml", text.replacing("/run/secrets/warren/url", with: urlFile))
        let settings = try SettingsLayers.resolver(flags: [:], configPath: nil, environment: ["WARREN_CONFIG": path])
        let configuration = try WorkerConfiguration(resolving: settings)
        #expect(configuration.broker.url.host == "rabbitmq")
        #expect(configuration.shutdownTimeout == .seconds(25))
        // Every key of the file is a setting `warren config` reports, so none is silently ignored.
        let keys = try YAMLSettings.parse(Array(text.utf8)).keys.sorted()
        #expect(keys.count == 7, "\(keys)")
        for key in keys {
            let name = key.hasSuffix("-file") ? String(key.dropLast(5)) : key
            #expect(ConfigReport.names.contains(name), "\(key) is not a setting")
        }
    }
}
