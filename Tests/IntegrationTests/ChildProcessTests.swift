import Foundation
import Testing

/// The test support's own promise: once `waitForExit` returns, `stdout` and `stderr` hold all
/// of the child's output, or the wait throws. Needs no broker.
@Suite("ChildProcess: output is complete or the wait says it is not")
struct ChildProcessTests {
    @Test("every line is read when the child exits")
    func completeOutput() async throws {
        let result = try await runTool("/bin/sh", ["-c", "seq 1 20000; echo done >&2"], timeout: .seconds(20))
        #expect(result.succeeded, "\(result)")
        #expect(result.stdout.split(separator: "\n").count == 20000 && result.stdout.hasSuffix("20000\n"))
        #expect(result.stderr == "done\n")
    }

    /// A grandchild keeps stdout open after the child exits: the output read so far may be
    /// truncated, so the wait throws instead of returning it as complete.
    @Test("a pipe left open by a grandchild makes waitForExit throw, not return part of the output")
    func unclosedPipeThrows() async throws {
        let child = try ChildProcess(executable: "/bin/sh", arguments: ["-c", "echo first; (sleep 15; echo late) &"])
        defer { child.forceStop() }
        await #expect(throws: UnclosedPipeError.self) { try await child.waitForExit(timeout: .seconds(10)) }
        #expect(child.stdout.text == "first\n")
    }
}
