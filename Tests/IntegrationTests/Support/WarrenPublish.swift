import Foundation

/// Runs `warren publish …` to completion (inherited `WARREN_*` variables removed).
func warrenPublish(
    _ test: TestEnvironment,
    _ arguments: [String],
    environment: [String: String] = [:],
    timeout: Duration = .seconds(90)
) async throws -> ToolResult {
    try await runTool(
        test.warrenBinary, ["publish"] + arguments, environment: environment,
        removingEnvironment: { $0.hasPrefix("WARREN_") }, timeout: timeout)
}

/// The summary line of `warren publish`:
/// `published 10000, confirmed 10000, nacked 0, unroutable 0 in 0.83 s (12048 msg/s)`.
struct PublishSummary: Sendable, Equatable, CustomStringConvertible {
    let published: Int
    let confirmed: Int
    let nacked: Int
    let unroutable: Int

    /// Finds the summary line anywhere in `output`; nil if there is none.
    init?(_ output: String) {
        let pattern = /published (\d+), confirmed (\d+), nacked (\d+), unroutable (\d+)/
        guard let match = output.firstMatch(of: pattern),
            let published = Int(match.1), let confirmed = Int(match.2),
            let nacked = Int(match.3), let unroutable = Int(match.4)
        else { return nil }
        self.init(published: published, confirmed: confirmed, nacked: nacked, unroutable: unroutable)
    }

    init(published: Int, confirmed: Int, nacked: Int, unroutable: Int) {
        self.published = published
        self.confirmed = confirmed
        self.nacked = nacked
        self.unroutable = unroutable
    }

    var description: String {
        "published \(published), confirmed \(confirmed), nacked \(nacked), unroutable \(unroutable)"
    }
}
