import Foundation
import Testing

extension BrokerTests.URLLists {
    /// The tools besides the worker, each given a URL with an unknown query parameter (by flag,
    /// or by `WARREN_AMQP_URL` for `dlq stats`).
    static let tools: [(arguments: [String], byEnvironment: Bool)] = [
        (["publish"], false), (["dlq", "stats"], true), (["dlq", "peek"], false), (["dlq", "replay", "--all"], false),
        (["dlq", "purge", "--yes"], false),
    ]

    /// Issue 15, test 5, for `publish` and `dlq` (the worker's case is
    /// `badQueryParameterExits78`): exit 78 before any connection, naming the parameter and
    /// never printing the password.
    @Test("publish and dlq exit 78 on an unknown query parameter, naming it", arguments: tools)
    func toolsRejectAnUnknownQueryParameter(arguments: [String], byEnvironment: Bool) async throws {
        let env = try TestEnvironment.current()
        let password = "Pw" + uniqueSuffix() + "Zq"
        let url = env.url(user: "guest", password: password) + "?bogus_option=1"
        let result = try await runTool(
            env.warrenBinary, arguments + ["--queue", "q"] + (byEnvironment ? [] : ["--amqp-url", url]),
            environment: byEnvironment ? ["WARREN_AMQP_URL": url] : [:], removingEnvironment: { $0.hasPrefix("WARREN_") },
            timeout: .seconds(20))
        #expect(result.termination == .exited(78), "\(result)")
        #expect(result.stderr.contains("bogus_option"), "\(result)")
        #expect(result.stderr.contains(byEnvironment ? "WARREN_AMQP_URL" : "--amqp-url"), "\(result)")
        #expect(!result.output.contains(password), "\(result)")
    }
}
