import ArgumentParser
import Glibc
import Testing
import Warren
@testable import WarrenCLI

/// The exit codes of the README's table that the executable decides itself (the worker's 69, 70
/// and 78 for a health port come from `WorkerHost.exitCode(for:)`, tested in WarrenHostingTests).
@Suite struct WarrenExitTests {
    /// ArgumentParser's usage errors are EX_USAGE; the README promises 64 for an unknown flag.
    @Test func anUnknownFlagExits64() {
        do {
            _ = try WarrenCommand.parseAsRoot(["worker", "--no-such-flag"])
            Issue.record("an unknown flag was accepted")
        } catch {
            #expect(WarrenCommand.exitCode(for: error).rawValue == 64)
        }
        #expect(DlqCommand.usageExit.rawValue == 64, "dlq purge without --yes is a usage error too")
    }

    @Test func anInvalidSettingExits78() {
        let exit = configurationFailure(ConfigurationError(key: "WARREN_PREFETCH", value: "0", problem: "must be 1-65535"))
        #expect(exit.rawValue == 78)
    }

    @Test func aReplayStoppedBySIGINTOrSIGTERMExits130Or143() {
        #expect(WarrenExit.interrupted(by: SIGINT).rawValue == 130)
        #expect(WarrenExit.interrupted(by: SIGTERM).rawValue == 143)
    }
}
