import Foundation
import Testing

extension BrokerTests {
    /// What operators load next to Warren, checked against a live `warren worker` (with a
    /// scheduled job, so the job metrics exist): its `/metrics` has a `# HELP` line per family
    /// and passes `promtool check metrics`, and every metric the Grafana dashboard
    /// (deploy/grafana/warren.json) and the alert rules (deploy/prometheus/) query is one it
    /// exports, so neither can drift from the code.
    @Suite("Dashboard, alert rules and help texts against a live /metrics")
    struct DashboardMetrics {
        /// `<package root>/deploy/…`, from this file's path (`<root>/Tests/IntegrationTests/…`).
        static func deployFile(_ path: String, filePath: String = #filePath) -> URL {
            var root = URL(fileURLWithPath: filePath)
            for _ in 0..<3 { root.deleteLastPathComponent() }
            return root.appendingPathComponent("deploy").appendingPathComponent(path)
        }

        /// Runs a consuming worker with a scheduled job and returns its `/metrics` text once the
        /// job's metrics are there. The two gauges set once at start carry their settings:
        /// `warren_concurrency_limit` the concurrency, `warren_job_interval_seconds` the
        /// `@every` duration.
        private func liveMetrics(_ env: TestEnvironment, queue: String) async throws -> String {
            let worker = try WarrenProcess.worker(
                env, queue: queue, ["--queue-type", "classic", "--handler", "noop", "--concurrency", "3", "--schedule", "tick=@every 1s"])
            defer { worker.forceStop() }
            let (response, _) = try await worker.healthProbe().waitForMetrics(timeout: .seconds(30), "consuming, with the job's metrics") { samples in
                samples[#"warren_connection_state{queue="\#(queue)",state="consuming"}"#] == 1
                    && samples[#"warren_job_interval_seconds{job_name="tick"}"#] == 1
                    && samples[#"warren_concurrency_limit{queue="\#(queue)"}"#] == 3
            }
            _ = try await worker.stop(with: SIGTERM, timeout: .seconds(30))
            return response.body
        }

        private func withWorkerQueue<T>(_ body: (TestEnvironment, String) async throws -> T) async throws -> T {
            let env = try TestEnvironment.current()
            let broker = Broker(env)
            let queue = "it.dashboard.\(uniqueSuffix())"
            return try await withCleanup {
                try await body(env, queue)
            } cleanup: {
                await broker.deleteTopology(of: queue)
                await broker.delete(queues: ["\(queue).schedule.tick"], exchanges: ["\(queue).schedule"])
            }
        }

        @Test("every metric family on /metrics has a # HELP line, and promtool check metrics passes")
        func everyFamilyHasHelp() async throws {
            try await withWorkerQueue { env, queue in
                let text = try await liveMetrics(env, queue: queue)
                let families = ExposedFamilies(text)
                #expect(families.types.count >= 20, "the worker printed its metrics: \(text)")
                let withoutHelp = Set(families.types.keys).subtracting(families.helped)
                #expect(withoutHelp.isEmpty, "families without # HELP: \(withoutHelp.sorted())")
                // promtool's linter: help texts present, counters named _total, no unit trouble.
                let checked = try await runTool("promtool", ["check", "metrics"], stdin: Data(text.utf8))
                #expect(checked.succeeded, "\(checked)")
            }
        }

        @Test("every metric the dashboard and the alert rules query is exported by a live worker")
        func dashboardAndRulesQueryExportedMetrics() async throws {
            let dashboard = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.deployFile("grafana/warren.json")))
            let dashboardNames = QueriedMetrics.inDashboard(dashboard)
            // The panels of README "Dashboards and alerts" query 20 metrics: a parser that finds
            // none would pass vacuously.
            #expect(dashboardNames.count >= 20, "metric names found in the dashboard's queries: \(dashboardNames.sorted())")
            var ruleNames = Set<String>()
            for file in ["prometheus/warren-rules.yml", "prometheus/warren-rules.test.yml"] {
                ruleNames.formUnion(QueriedMetrics.inText(try String(contentsOf: Self.deployFile(file), encoding: .utf8)))
            }
            #expect(ruleNames.count >= 8, "metric names found in the rules: \(ruleNames.sorted())")
            try await withWorkerQueue { env, queue in
                let families = ExposedFamilies(try await liveMetrics(env, queue: queue))
                let missingFromDashboard = dashboardNames.filter { !families.exports($0) }
                #expect(missingFromDashboard.isEmpty, "the dashboard queries metrics no worker exports: \(missingFromDashboard.sorted())")
                let missingFromRules = ruleNames.filter { !families.exports($0) }
                #expect(missingFromRules.isEmpty, "the alert rules query metrics no worker exports: \(missingFromRules.sorted())")
            }
        }
    }
}

/// The metric families of a Prometheus text exposition: `# TYPE` and `# HELP` lines.
struct ExposedFamilies {
    /// Family name → type (`counter`, `gauge`, `histogram`, …).
    private(set) var types: [String: String] = [:]
    /// Families with a non-empty `# HELP` line.
    private(set) var helped = Set<String>()

    init(_ text: String) {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 3)
            guard parts.count >= 4, parts[0] == "#" else { continue }
            if parts[1] == "TYPE" { types[String(parts[2])] = String(parts[3]) }
            if parts[1] == "HELP", !parts[3].trimmingCharacters(in: .whitespaces).isEmpty { helped.insert(String(parts[2])) }
        }
    }

    /// Whether a PromQL query may name `name`: a family that is not a histogram, or a
    /// histogram's `_bucket`, `_sum` or `_count` series (a histogram family's bare name has no
    /// samples, so querying it is a mistake too).
    func exports(_ name: String) -> Bool {
        if let type = types[name] { return type != "histogram" }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            if types[String(name.dropLast(suffix.count))] == "histogram" { return true }
        }
        return false
    }
}

/// `warren_…` metric names in queries.
enum QueriedMetrics {
    /// Every `warren_…` identifier in `text`.
    static func inText(_ text: String) -> Set<String> {
        Set(text.matches(of: /warren_[a-z0-9_]+/).map { String($0.output) })
    }

    /// The names in a Grafana dashboard's queries: the `expr` of every panel target and the
    /// `query`/`definition` of every template variable, wherever they are nested (rows,
    /// library panels), not descriptions or titles.
    static func inDashboard(_ json: Any) -> Set<String> {
        var names = Set<String>()
        func walk(_ node: Any) {
            if let object = node as? [String: Any] {
                for (key, value) in object {
                    if ["expr", "query", "definition"].contains(key), let text = value as? String {
                        names.formUnion(inText(text))
                    } else {
                        walk(value)
                    }
                }
            } else if let array = node as? [Any] {
                array.forEach(walk)
            }
        }
        walk(json)
        return names
    }
}
