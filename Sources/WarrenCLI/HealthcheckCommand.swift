import ArgumentParser
import Warren
import WarrenHosting

/// `warren healthcheck`: probes a running worker's `/readyz` (or `/healthz`) and exits 0 or 1,
/// so that a container's `HEALTHCHECK` or an exec probe needs no curl.
struct HealthcheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "healthcheck",
        abstract: "Probe a running worker: exit 0 if /readyz (or /healthz with --live) answers 200, else 1.",
        discussion: """
        The default URL is http://127.0.0.1:PORT/readyz, PORT being --http-port, else WARREN_HTTP_PORT, \
        else http-port in the --config (or WARREN_CONFIG) file, else 8080. On success it prints the status and body; otherwise it prints them, or why there \
        was no answer, to standard error. Plain http:// only.
        """
    )

    @Option(help: "URL to probe (default http://127.0.0.1:PORT/readyz, or /healthz with --live).")
    var url: String?

    @Flag(help: "Probe liveness (/healthz) instead of readiness (/readyz).")
    var live = false

    @Option(name: .customLong("http-port"), help: "The worker's HTTP port, for the default URL (env WARREN_HTTP_PORT; default 8080).")
    var httpPort: String?

    @Option(name: .customLong("config"), help: ArgumentHelp("The worker's configuration file, for http-port (env WARREN_CONFIG).", valueName: "path"))
    var config: String?

    @Option(help: "Seconds to wait for the whole answer.")
    var timeout: Double = 2

    func validate() throws {
        guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be more than 0 and at most 3600 seconds") }
        if let url {
            do {
                _ = try HTTPProbeTarget(url: url)
            } catch {
                throw ValidationError("--url: \(error)")
            }
        }
    }

    func run() throws {
        let target = try url ?? defaultURL()
        let response: HTTPProbe.Response
        do {
            // Blocks this (the main) thread: nothing else runs in this process.
            response = try HTTPProbe.get(target, timeout: .milliseconds(Int(timeout * 1000)))
        } catch {
            printError("warren healthcheck: \(error)")
            throw WarrenExit.failure
        }
        let summary = response.body.isEmpty ? "\(response.status)" : "\(response.status) \(response.body)"
        guard response.status == 200 else {
            printError("warren healthcheck: \(target) answered \(summary)")
            throw WarrenExit.failure
        }
        print(summary)
    }

    private func defaultURL() throws -> String {
        let settings: SettingsResolver
        let port: Int
        do {
            settings = try SettingsLayers.resolver(
                flags: ["http-port": httpPort].compactMapValues { $0 }, configPath: config, environment: SettingsResolver.processEnvironment())
            port = try WorkerConfiguration.httpPort(resolving: settings)
        } catch let error as ConfigurationError {
            throw configurationFailure(error)
        }
        guard port != 0 else {
            let key = (try? settings.raw("http-port"))??.key ?? "--http-port"
            throw configurationFailure(ConfigurationError(
                key: key, value: "0",
                problem: "the worker picked a free port: pass --url with the port it logged (event http.listening)"))
        }
        return "http://127.0.0.1:\(port)/\(live ? "healthz" : "readyz")"
    }
}
