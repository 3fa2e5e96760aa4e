@testable import WarrenSettings

// Fuzz target for configuration parsing: `WorkerConfiguration(resolving:)` over flags, variables,
// a configuration file's keys (a dictionary layer, as `warren --config` reads them) and `_FILE`
// secrets built from the input, and the value parsers it uses
// (`SettingsResolver.parseDuration`, `RetryPolicy.parseDelays`, `QueueBinding.parseList`).
//
// Properties:
// - resolving is deterministic, and only ever fails with a `ConfigurationError`;
// - a flag wins over its variable, which wins over the file's key: dropping the variables and
//   file keys that a higher layer overrides changes nothing;
// - a resolved configuration keeps every documented range (bindings: a named exchange, names
//   and keys within AMQP's 255 bytes);
// - durations and retry delays parse back from the form Warren logs (`delayName`, which also
//   names the retry queues, so distinct delays must keep distinct names);
// - the AMQP password (from the URL or any URL of a list, WARREN_AMQP_PASSWORD or a `_FILE`)
//   reaches neither an error message nor the logged settings.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSettings(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    checkValueParsers(input.string(upTo: 40))
    let (flags, environment, file) = makeSettings(&input)

    let first = resolve(flags: flags, environment: environment, file: file)
    check(first == resolve(flags: flags, environment: environment, file: file), "resolving is not deterministic")
    var unshadowed = environment
    var unshadowedFile = file
    for flag in flags.keys {
        let name = SettingsResolver.environmentName(flag)
        unshadowed[name] = nil
        unshadowed[name + "_FILE"] = nil
        unshadowedFile[flag] = nil
        unshadowedFile[flag + "-file"] = nil
    }
    // Only a secret reads `WARREN_NAME_FILE`: for any other setting (`amqp-shuffle` too, for
    // all its prefix) such a variable is ignored and shadows nothing.
    for name in names where environment[SettingsResolver.environmentName(name)] != nil
        || (secretNames.contains(name) && environment[SettingsResolver.environmentName(name) + "_FILE"] != nil) {
        unshadowedFile[name] = nil
        unshadowedFile[name + "-file"] = nil
    }
    check(first == resolve(flags: flags, environment: unshadowed, file: unshadowedFile),
          "a variable or file key changed the result although a higher layer sets it")

    switch first {
    case .success(let configuration):
        checkRanges(configuration)
        for (key, value) in configuration.loggedSettings {
            check(!"\(value)".contains(marker), "\(key) logs the password: \(value)")
        }
    case .failure(let error):
        check(!error.description.contains(marker), "an error shows the password: \(error)")
    }
    return 0
}

/// The settings that are secrets: the only ones read from `NAME-file` / `WARREN_NAME_FILE`.
private let secretNames: Set = ["amqp-url", "amqp-password"]

private let names = [
    "amqp-url", "amqp-password", "amqp-shuffle", "queue", "queue-type", "prefetch", "concurrency", "handler-thread", "log-level", "log-format",
    "http-port", "heartbeat", "reconnect-initial-delay", "reconnect-max-delay", "shutdown-timeout",
    "max-refused-attempts", "handler-timeout", "immediate-retries", "retry-delays", "crash-limit", "delivery-limit",
    "bind", "exchange-type", "existing-queue", "schedule", "schedule-missed-ticks",
]
/// Characters of generated values: what numbers, durations, lists and URLs are made of. No
/// uppercase letter, so the marker appears only where a password is.
private let alphabet = Array("0123456789.,:;/@%-+ _msheinfaqpurlcdgt[]\u{00A0}\u{0661}\u{00BD}")
/// Starts every password, so any trace of one in an output is recognisable.
private let marker = "SECRET"

private func value(_ input: inout FuzzInput) -> String {
    // Whole words now and then, so that valid values are common.
    let words = ["", "0", "1", "50", "65535", "65536", "1s", "1.5s", "250ms", "1m", "24h", "1s,10s,1m", "quorum", "classic",
                 "json", "text", "debug", "amqp://h/%2f", "orders", "amq.x", "true", "false", "?heartbeat=5", "?bogus=1",
                 "job=@every 1s", "n=*/5 1-3 * jan-mar mon,fri", "x=0 0 29 2 *", "TZ=+02:00 0 3 * * *", "latest", "all",
                 "?cacertfile=/x", "ex=a.*", "=", "?x-match=any&f=pdf", "%2C", "&", "topic", "headers"]
    var text = ""
    for _ in 0..<(1 + input.choice(3)) {
        if input.choice(2) == 0 {
            text += words[input.choice(words.count)]
        } else {
            text += String(input.bytes(upTo: 12).map { alphabet[Int($0) % alphabet.count] })
        }
    }
    return text
}

private func makeSettings(_ input: inout FuzzInput) -> (flags: [String: String], environment: [String: String], file: [String: String]) {
    var flags: [String: String] = [:]
    var environment: [String: String] = [:]
    var file: [String: String] = [:]
    for _ in 0..<input.choice(12) {
        let name = names[input.choice(names.count)]
        var text = value(&input)
        // Only the secrets hold a password: other settings' errors quote their values.
        if name == "amqp-password" { text = marker + text }
        if name == "amqp-url" {
            // One URL or a list of two, each with its own password.
            text = (0..<(1 + input.choice(2))).map { _ in
                "amqp://\(value(&input)):\(marker)\(value(&input))@\(value(&input))"
            }.joined(separator: ",")
        }
        switch input.choice(6) {
        case 0: flags[name] = text
        case 1, 2: environment[SettingsResolver.environmentName(name)] = text
        case 3: file[name] = text
        // A secret file's path; `readFile` makes up its contents.
        case 4 where name.hasPrefix("amqp-"): environment[SettingsResolver.environmentName(name) + "_FILE"] = value(&input)
        case 5 where name.hasPrefix("amqp-"): file[name + "-file"] = value(&input)
        default: environment[SettingsResolver.environmentName(name)] = text
        }
    }
    return (flags, environment, file)
}

/// Secret files: whatever the file holds is secret (a URL, a password, or a mistake), so it
/// starts with the marker; paths starting with "-" cannot be read.
@Sendable private func readFile(_ path: String) throws -> String {
    struct Unreadable: Error {}
    if path.hasPrefix("-") { throw Unreadable() }
    return path.hasPrefix("a") ? "amqp://u:\(marker)\(path)@h/" : marker + path + "\n"
}

private func resolve(flags: [String: String], environment: [String: String], file: [String: String]) -> Result<WorkerConfiguration, ConfigurationError> {
    let fileLayer = SettingsLayer(source: .file, readsSecretFiles: true, keyName: { "\($0) in fuzz.yaml" }) { name, _ in file[name] }
    let settings = SettingsResolver(layers: [.flags(flags), .environment(environment), fileLayer], readFile: readFile)
    do {
        return .success(try WorkerConfiguration(resolving: settings))
    } catch let error as ConfigurationError {
        return .failure(error)
    } catch {
        fatalError("WorkerConfiguration threw \(type(of: error)), not a ConfigurationError: \(error)")
    }
}

private func checkRanges(_ c: WorkerConfiguration) {
    check(c.prefetch >= 1, "prefetch \(c.prefetch)")
    check((1...10_000).contains(c.concurrency), "concurrency \(c.concurrency)")
    check((0...65535).contains(c.httpPort), "http-port \(c.httpPort)")
    check(c.heartbeat >= .zero && c.heartbeat <= .seconds(3600) && c.heartbeat.components.attoseconds == 0, "heartbeat \(c.heartbeat)")
    check(c.reconnectBackoff.initial >= .milliseconds(10) && c.reconnectBackoff.initial <= c.reconnectBackoff.maximum
          && c.reconnectBackoff.maximum <= .seconds(3600), "reconnect backoff \(c.reconnectBackoff)")
    check(c.shutdownTimeout >= .zero && c.shutdownTimeout <= .seconds(3600), "shutdown-timeout \(c.shutdownTimeout)")
    check((1...1000).contains(c.maxRefusedAttempts), "max-refused-attempts \(c.maxRefusedAttempts)")
    check(c.handlerTimeout.map { $0 > .zero && $0 <= .seconds(86_400) } ?? true, "handler-timeout \(String(describing: c.handlerTimeout))")
    check((0...100).contains(c.retryPolicy.immediateRetries), "immediate-retries \(c.retryPolicy.immediateRetries)")
    check(c.retryPolicy.delays.allSatisfy { $0 >= .milliseconds(1) && $0 <= .seconds(86_400) }, "retry-delays \(c.retryPolicy.delays)")
    check(c.crashLimit.map { (1...1000).contains($0) } ?? true, "crash-limit \(String(describing: c.crashLimit))")
    check(c.deliveryLimit.map { (1...100_000).contains($0) } ?? true, "delivery-limit \(String(describing: c.deliveryLimit))")
    check(!c.broker.queue.isEmpty && c.broker.queue.utf8.count <= 250 && !c.broker.queue.hasPrefix("amq."), "queue \(c.broker.queue)")
    for binding in c.bindings {
        check(!binding.exchange.isEmpty && binding.exchange.utf8.count <= 255 && binding.bindingKey.utf8.count <= 255,
              "binding \(binding)")
    }
    for job in c.schedules {
        check(ScheduledJobSetting.problem(withName: job.name) == nil, "schedule name \(job.name)")
        // Every accepted schedule has a next tick, strictly later, from any moment.
        for moment: Int64 in [0, 1_796_515_200, 4_102_444_799] {
            let next = job.schedule.nextTick(after: moment)
            check(next.map { $0 > moment } ?? false, "schedule \(job.schedule) after \(moment): \(String(describing: next))")
        }
    }
    let logged = c.loggedSettings["retry-delays"].map { "\($0)" } ?? ""
    check(RetryPolicy.parseDelays(logged) == c.retryPolicy.delays, "logged retry-delays \(logged) do not parse back")
}

private func checkValueParsers(_ text: String) {
    let duration = SettingsResolver.parseDuration(text)
    check(duration == SettingsResolver.parseDuration(text), "parseDuration is not deterministic")
    if let duration {
        check(duration >= .zero, "parseDuration(\(text.debugDescription)) is negative: \(duration)")
        let name = RetryPolicy.delayName(duration)
        check(SettingsResolver.parseDuration(name) == duration, "\(duration) is logged as \(name), which parses to something else")
    }
    if let delays = RetryPolicy.parseDelays(text) {
        let names = delays.map { RetryPolicy.delayName($0) }
        check(RetryPolicy.parseDelays(names.joined(separator: ",")) == delays, "retry delays \(delays) do not parse back from \(names)")
        for (a, b) in zip(delays, names) {
            for (c, d) in zip(delays, names) where a != c {
                check(b != d, "delays \(a) and \(c) share the retry queue name \(b)")
            }
        }
    }
}
