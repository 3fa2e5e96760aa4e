/// When a scheduled job is due: a 5-field cron expression, a cron shorthand, or `@every`.
///
/// - `m h dom mon dow` (see `CronExpression`; lists, ranges, steps, month and weekday names,
///   day of month and day of week ORed as in Vixie cron);
/// - `@hourly`, `@daily` (`@midnight`), `@weekly` (Sunday 00:00), `@monthly`, `@yearly`
///   (`@annually`);
/// - `@every DURATION` (`@every 30s`, `@every 5m`, `@every 1h`): whole seconds, at least 1 s,
///   at most 31 days, at the multiples of the duration since the Unix epoch, so every replica
///   computes the same ticks without talking to the others.
///
/// Cron times are UTC unless the specification starts with a fixed offset,
/// `TZ=+02:00 0 3 * * *` (also `CRON_TZ=`; `UTC`, `Z`, `±HH:MM`, `±HHMM`). Named zones with
/// daylight saving are deliberately not supported: a tick that happens twice or never on
/// a DST change is exactly the ambiguity a once-per-tick scheduler must not have.
///
/// Ticks are whole seconds since the Unix epoch. Pure and `Sendable`: no clock is read here.
public struct JobSchedule: Sendable, Equatable, CustomStringConvertible {
    enum Rule: Equatable, Sendable {
        case cron(CronExpression, offsetSeconds: Int64)
        case every(seconds: Int64)
    }

    let rule: Rule
    /// The specification as written (trimmed).
    public let description: String

    /// Parses a specification; throws naming the part at fault.
    public init(_ specification: String) throws(JobScheduleError) {
        let spec = String(specification.trimmingSpaces())
        description = spec
        var rest = Substring(spec)
        var offset: Int64?
        for prefix in ["TZ=", "CRON_TZ="] where rest.uppercased().hasPrefix(prefix) {
            let afterPrefix = rest.dropFirst(prefix.count)
            let zone = afterPrefix.prefix(while: { $0 != " " && $0 != "\t" })
            guard let seconds = Self.offsetSeconds(zone) else {
                throw .invalid(spec, "time zone '\(zone)' must be UTC, Z or a fixed offset like +02:00 (named zones with daylight saving are not supported)")
            }
            offset = seconds
            rest = afterPrefix.dropFirst(zone.count).drop(while: { $0 == " " || $0 == "\t" })
        }
        if rest.hasPrefix("@every") {
            guard offset == nil else { throw .invalid(spec, "@every ticks are aligned to the Unix epoch; a time zone has no meaning there") }
            let argument = rest.dropFirst("@every".count)
            guard argument.first == " " || argument.first == "\t",
                  let duration = SettingsResolver.parseDuration(String(argument.drop(while: { $0 == " " || $0 == "\t" }))) else {
                throw .invalid(spec, "@every needs a duration like 30s, 5m or 1h")
            }
            let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
            guard milliseconds % 1000 == 0, milliseconds >= 1000, milliseconds <= 31 * 86_400_000 else {
                throw .invalid(spec, "@every takes whole seconds from 1s to 31 days (744h)")
            }
            rule = .every(seconds: milliseconds / 1000)
            return
        }
        let expression: String
        if rest.hasPrefix("@") {
            switch rest.lowercased() {
            case "@hourly": expression = "0 * * * *"
            case "@daily", "@midnight": expression = "0 0 * * *"
            case "@weekly": expression = "0 0 * * 0"
            case "@monthly": expression = "0 0 1 * *"
            case "@yearly", "@annually": expression = "0 0 1 1 *"
            default:
                throw .invalid(spec, "unknown shorthand; use @hourly, @daily, @weekly, @monthly, @yearly or @every DURATION")
            }
        } else {
            expression = String(rest)
        }
        do {
            rule = .cron(try CronExpression(expression), offsetSeconds: offset ?? 0)
        } catch {
            guard case .invalid(_, let problem) = error.kind else { throw error }
            throw .invalid(spec, problem)
        }
    }

    /// The first tick strictly after `epochSeconds`.
    ///
    /// `nil` only for a date past year 10⁶-ish overflow territory; a parsed schedule always has
    /// a next tick.
    public func nextTick(after epochSeconds: Int64) -> Int64? {
        switch rule {
        case .every(let interval):
            return (CivilTime.floorDivide(epochSeconds, interval) + 1) * interval
        case .cron(let expression, let offset):
            return expression.next(after: epochSeconds + offset).map { $0 - offset }
        }
    }

    /// The most recent tick at or before `epochSeconds`, if one exists within a year and a day
    /// (the horizon of a cron yearly schedule).
    public func latestTick(atOrBefore epochSeconds: Int64) -> Int64? {
        switch rule {
        case .every(let interval):
            return CivilTime.floorDivide(epochSeconds, interval) * interval
        case .cron:
            // Cron has no cheap reverse step: walk forward from a year back, keeping the last
            // tick not after `epochSeconds`.
            var latest: Int64?
            var cursor = epochSeconds - 367 * 86_400
            while let tick = nextTick(after: cursor), tick <= epochSeconds {
                latest = tick
                cursor = tick
            }
            return latest
        }
    }

    /// `UTC`, `Z`, `+HH:MM`, `-HH:MM`, `+HHMM`, `+HH`: seconds east of UTC, at most ±18 h.
    static func offsetSeconds(_ text: Substring) -> Int64? {
        let upper = text.uppercased()
        if upper == "UTC" || upper == "Z" { return 0 }
        let body = upper.hasPrefix("UTC") ? upper.dropFirst(3) : upper[...]
        guard let sign = body.first, sign == "+" || sign == "-" else { return nil }
        let digits = body.dropFirst().filter { $0 != ":" }
        guard body.dropFirst().allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ":") }),
              digits.count == 2 || digits.count == 4,
              body.dropFirst().filter({ $0 == ":" }).count <= (digits.count == 4 ? 1 : 0),
              let hours = Int64(digits.prefix(2)), let minutes = Int64(digits.dropFirst(2).isEmpty ? "0" : String(digits.dropFirst(2))),
              hours <= 18, minutes < 60 else { return nil }
        let seconds = hours * 3600 + minutes * 60
        return sign == "-" ? -seconds : seconds
    }
}
