import Testing
import Warren

@Suite struct ScheduledJobSettingTests {
    @Test func parsesNameEqualsSpec() throws {
        let job = try ScheduledJobSetting(parsing: "cleanup=0 3 * * *")
        #expect(job.name == "cleanup")
        #expect(job.schedule.description == "0 3 * * *")
    }

    @Test func aListIsSemicolonSeparatedBecauseCronUsesCommas() throws {
        let jobs = try ScheduledJobSetting.list(parsing: "report=0 6,18 * * mon-fri; sync=@every 5m;")
        #expect(jobs.map(\.name) == ["report", "sync"])
        #expect(jobs.map(\.schedule.description) == ["0 6,18 * * mon-fri", "@every 5m"])
    }

    @Test(arguments: [
        ("cleanup", "expected NAME=SPEC"),
        ("=@daily", "the job name is empty"),
        ("night ly=@daily", "may only hold letters"),
        ("a@b=@daily", "may only hold letters"),
        ("cleanup=61 * * * *", "minute field"),
        ("cleanup=@daily;cleanup=@hourly", "scheduled twice"),
    ])
    func invalidValuesAreRefusedNamingTheProblem(text: String, expected: String) {
        do {
            _ = try ScheduledJobSetting.list(parsing: text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.description.contains(expected), "\(text): \(error)")
        }
    }

    @Test func aLongNameIsRefused() {
        #expect(throws: JobScheduleError.self) { try ScheduledJobSetting(parsing: Substring(String(repeating: "a", count: 65) + "=@daily")) }
        #expect(throws: Never.self) { try ScheduledJobSetting(parsing: Substring(String(repeating: "a", count: 64) + "=@daily")) }
    }
}
