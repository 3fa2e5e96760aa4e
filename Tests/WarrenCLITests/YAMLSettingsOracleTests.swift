import Foundation
import Testing
@testable import WarrenCLI

/// Warren's YAML subset against a full YAML 1.2 parser (ruamel.yaml, through
/// Support/yaml-oracle.py): on thousands of generated files, well-formed and mutated, whatever
/// `YAMLSettings` reads must be exactly what ruamel.yaml reads, every well-formed file of the
/// subset must be read, and a refusal never quotes a value.
@Suite struct YAMLSettingsOracleTests {
    static let secret = "S3cr3tZq"
    /// How many files, and from which seed: fixed, so a failure reproduces; a longer search
    /// sets `WARREN_YAML_ORACLE_FILES` and `WARREN_YAML_ORACLE_SEED`.
    static let count = ProcessInfo.processInfo.environment["WARREN_YAML_ORACLE_FILES"].flatMap { Int($0) } ?? 3000
    static let seed = ProcessInfo.processInfo.environment["WARREN_YAML_ORACLE_SEED"].flatMap { UInt64($0) } ?? 0x5EED_1717

    @Test func whatWarrenReadsIsWhatAFullYAMLParserReads() async throws {
        var generator = YAMLFileGenerator(seed: Self.seed)
        let files = (0..<Self.count).map { _ in generator.next() }
        let oracle = try await Self.ruamel(files.map(\.text))
        var agreed = 0
        var agreedMutated = 0
        var refusedByBoth = 0
        var failures = 0
        for (file, expected) in zip(files, oracle) where failures < 10 {
            let reading: [String: JSONValue]
            do {
                reading = try YAMLSettings.parse(Array(file.text.utf8))
            } catch {
                if file.wellFormed || "\(error)".contains(Self.secret) { failures += 1 }
                #expect(!file.wellFormed, "a well-formed file of the subset is refused (\(error)):\n\(file.text)")
                #expect(!"\(error)".contains(Self.secret), "a refusal quotes a value: \(error)")
                if expected == nil { refusedByBoth += 1 }
                continue
            }
            if expected != Self.canonical(.object(reading)) { failures += 1 }
            #expect(expected == Self.canonical(.object(reading)), "warren and ruamel.yaml read differently:\n\(file.text)")
            agreed += 1
            if !file.wellFormed { agreedMutated += 1 }
        }
        #expect(failures == 0, "stopped after \(failures) failures")
        // The comparison must have run on both kinds of file, or the test proves nothing.
        #expect(agreed > Self.count / 4, "only \(agreed) files read")
        #expect(agreedMutated > Self.count / 30, "only \(agreedMutated) mutated files read")
        #expect(refusedByBoth > Self.count / 30, "only \(refusedByBoth) files refused by both")
        print("YAML oracle: \(Self.count) files from seed \(Self.seed): \(agreed) read alike (\(agreedMutated) mutated), \(refusedByBoth) refused by both")
    }

    /// The oracle's canonical form of `value` (see yaml-oracle.py).
    static func canonical(_ value: JSONValue) -> String {
        switch value {
        case .null: "n"
        case .boolean(let flag): flag ? "b1" : "b0"
        case .integer(let number): "i\(number)"
        case .number(let number): "f" + String(format: "%016llx", number.bitPattern)
        case .string(let text): "s" + text.utf8.map { String(format: "%02x", $0) }.joined()
        case .array(let items): "[" + items.map(canonical).joined(separator: ",") + "]"
        case .object(let members):
            "{" + members.map { canonical(.string($0.key)) + ":" + canonical($0.value) }.sorted().joined(separator: ",") + "}"
        }
    }

    /// ruamel.yaml's reading of each text, canonical, or `nil` where it refuses the text.
    static func ruamel(_ texts: [String]) async throws -> [String?] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("warren-yaml-oracle-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.json")
        let output = directory.appendingPathComponent("out.json")
        try JSONEncoder().encode(texts).write(to: input)
        let script = String(#filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/"))
            + "/Support/yaml-oracle.py"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-W", "ignore", script, input.path, output.path]
        // Awaited, not `waitUntilExit()`: that would block a thread of the 2-thread cooperative
        // pool while Python runs (about a second), starving tests with real-time bounds.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        guard process.terminationStatus == 0 else {
            throw OracleFailure("yaml-oracle.py exited \(process.terminationStatus): is ruamel.yaml installed (scripts/ensure-deps.sh)?")
        }
        let results = try JSONDecoder().decode([String?].self, from: Data(contentsOf: output))
        guard results.count == texts.count else { throw OracleFailure("yaml-oracle.py answered \(results.count) of \(texts.count)") }
        return results
    }

    struct OracleFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
