import Foundation
import Testing

@testable import Warren

/// `WarrenMetricHelp` is the one table of metric names and help texts: every `warren_` metric
/// the sources make has an entry, every entry is made somewhere, and the README's metrics table
/// lists the same names with the same texts.
@Suite struct WarrenMetricHelpTests {
    /// The package root, from this file's path (`<root>/Tests/WarrenTests/…`).
    private static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    /// `warren_…` names given as `label: "…"` to a swift-metrics type anywhere in `Sources/`.
    private static func namesMadeInSources() throws -> Set<String> {
        let sources = root.appendingPathComponent("Sources")
        let pattern = try Regex(#"label: "(warren_[a-z_]+)""#)
        var names = Set<String>()
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)
        while let file = files?.nextObject() as? URL {
            guard file.pathExtension == "swift" else { continue }
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: pattern) {
                if let name = match.output[1].substring { names.insert(String(name)) }
            }
        }
        return names
    }

    @Test func everyMetricMadeInTheSourcesHasAHelpTextAndNoneIsStale() throws {
        let made = try Self.namesMadeInSources()
        #expect(made.count >= 20, "the scan found the metrics: \(made.sorted())")
        let documented = Set(WarrenMetricHelp.texts.keys)
        #expect(made.subtracting(documented).isEmpty, "no help text in WarrenMetricHelp for: \(made.subtracting(documented).sorted())")
        #expect(documented.subtracting(made).isEmpty, "help texts for metrics no source makes: \(documented.subtracting(made).sorted())")
    }

    /// README, "Metrics": a row `| \`name\` | type | labels | meaning |` per metric, whose
    /// meaning starts with the help text.
    @Test func theReadmeTableListsEveryMetricWithItsHelpText() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        var rows: [String: String] = [:]
        for line in readme.split(separator: "\n") where line.hasPrefix("| `warren_") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 6 else { continue }
            rows[cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = cells[4]
        }
        #expect(Set(rows.keys) == Set(WarrenMetricHelp.texts.keys),
                "README rows \(rows.keys.sorted()) vs help table \(WarrenMetricHelp.texts.keys.sorted())")
        for (name, help) in WarrenMetricHelp.texts {
            // The README writes metric names in code spans; the help text is plain.
            let meaning = rows[name]?.replacingOccurrences(of: "`", with: "") ?? ""
            #expect(meaning.hasPrefix(help), "README row of \(name) should start with its help text \"\(help)\", is \"\(meaning)\"")
        }
    }
}
