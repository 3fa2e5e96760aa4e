/// One `--schedule NAME=SPEC` value (or one `;`-separated entry of `WARREN_SCHEDULE`).
///
/// The name becomes part of broker object names (`<queue>.schedule.<name>`) and of every
/// tick id (`NAME@<RFC 3339 tick>`), so it is restricted to `A–Z a–z 0–9 . _ -`, at most 64
/// bytes. `@` and `;` can therefore never be part of a name, and a tick id splits back
/// unambiguously.
public struct ScheduledJobSetting: Sendable, Equatable {
    /// The job's name (see above).
    public var name: String
    /// When its ticks fall.
    public var schedule: JobSchedule

    /// A setting as given; the name is checked where settings are parsed, not here.
    public init(name: String, schedule: JobSchedule) {
        self.name = name
        self.schedule = schedule
    }

    /// Parses `NAME=SPEC`; the error text names what is wrong (the caller adds the key).
    public init(parsing text: Substring) throws(JobScheduleError) {
        guard let equals = text.firstIndex(of: "=") else {
            throw .invalid(String(text), "expected NAME=SPEC, e.g. cleanup=@daily or report=0 6 * * mon-fri")
        }
        let name = String(String(text[..<equals]).trimmingSpaces())
        guard let problem = Self.problem(withName: name) else {
            self.name = name
            schedule = try JobSchedule(String(text[text.index(after: equals)...]))
            return
        }
        throw .invalid(String(text), problem)
    }

    /// Parses `WARREN_SCHEDULE`: entries separated by `;` (cron specs contain commas and
    /// spaces), empty entries ignored; a name given twice is an error.
    public static func list(parsing text: String) throws(JobScheduleError) -> [ScheduledJobSetting] {
        var jobs: [ScheduledJobSetting] = []
        for entry in text.split(separator: ";") where entry.contains(where: { $0 != " " }) {
            let job = try ScheduledJobSetting(parsing: entry)
            guard !jobs.contains(where: { $0.name == job.name }) else {
                throw .invalid(String(entry), "job '\(job.name)' is scheduled twice")
            }
            jobs.append(job)
        }
        return jobs
    }

    static func problem(withName name: String) -> String? {
        if name.isEmpty { return "the job name is empty" }
        if name.utf8.count > 64 { return "the job name is longer than 64 bytes" }
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
        return allowed ? nil : "job name '\(name)' may only hold letters, digits, '.', '_' and '-'"
    }
}
