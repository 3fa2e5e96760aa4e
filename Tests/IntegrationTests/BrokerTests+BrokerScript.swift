import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension BrokerTests {
    /// `scripts/broker.sh`, which `make test`, `make run` and the benchmarks rely on to leave
    /// nothing behind: run for real on a node of its own (own name, ports, epmd and directory).
    @Suite("scripts/broker.sh cleans up after itself")
    struct BrokerScript {
        /// `start` brings up a node and its private epmd; `stop` leaves no process of the node's
        /// process group, no epmd of its own, no process naming its directory, and nothing accepting
        /// on its AMQP port, and keeps the directory (a restart reuses it); `destroy` removes it.
        @Test("start then stop leaves no node or epmd process; destroy removes the directory")
        func startStopDestroy() async throws {
            try FileManager.default.createDirectory(atPath: OwnBroker.parentDirectory, withIntermediateDirectories: true)
            // Named like OwnBroker's nodes, so a test process that dies here has it destroyed next run.
            let directory = "\(OwnBroker.parentDirectory)/\(getpid())-script-\(uniqueSuffix())"
            try await withCleanup {
                let started = try await brokerScript(["start", directory], timeout: .seconds(200))
                try #require(started.succeeded, "\(started)")
                let env = try String(contentsOfFile: directory + "/env", encoding: .utf8)
                let node = try #require(env.firstMatch(of: /export RABBITMQ_NODENAME=(\S+)/).map { String($0.1) })
                let port = try #require(env.firstMatch(of: /export RABBITMQ_NODE_PORT=(\d+)/).flatMap { Int($0.1) })
                #expect(started.stdout.contains("127.0.0.1:\(port)/"), "start prints the URL: \(started)")
                let leader = try #require(readPID(directory + "/pid"), "a pid file")
                let epmd = try #require(readPID(directory + "/epmd.pid"), "an epmd.pid file: its own epmd")
                // Evidence that the checks below look at real processes.
                #expect(!processes(inGroup: leader).isEmpty, "the node runs in process group \(leader)")
                #expect(isAlive(epmd), "its epmd \(epmd) runs")
                // The node gets its name from the environment; its directory is on its command line.
                #expect(!processes(naming: directory).isEmpty, "a process of \(node) names \(directory)")
                #expect(acceptsConnections(port: port), "the node listens on \(port)")

                let stopped = try await brokerScript(["stop", directory], timeout: .seconds(90))
                #expect(stopped.succeeded, "\(stopped)")
                #expect(processes(inGroup: leader).isEmpty, "left in group \(leader): \(processes(inGroup: leader))")
                #expect(!isAlive(epmd), "epmd \(epmd) still runs")
                #expect(processes(naming: directory).isEmpty, "left naming \(directory): \(processes(naming: directory))")
                #expect(!acceptsConnections(port: port), "something still accepts on \(port)")
                #expect(FileManager.default.fileExists(atPath: directory + "/env"), "stop keeps the directory")
                #expect(!FileManager.default.fileExists(atPath: directory + "/pid"))
                #expect(!FileManager.default.fileExists(atPath: directory + "/epmd.pid"))

                let destroyed = try await brokerScript(["destroy", directory], timeout: .seconds(90))
                #expect(destroyed.succeeded, "\(destroyed)")
                #expect(!FileManager.default.fileExists(atPath: directory), "destroy removes \(directory)")
            } cleanup: {
                _ = try? await brokerScript(["destroy", directory], timeout: .seconds(90))
            }
        }

        private func brokerScript(_ arguments: [String], timeout: Duration) async throws -> ToolResult {
            var root = URL(fileURLWithPath: #filePath)
            for _ in 0..<3 { root.deleteLastPathComponent() }
            return try await runTool(
                root.path + "/scripts/broker.sh", arguments, environment: ["BROKER_START_TIMEOUT": "150"], timeout: timeout)
        }

        private func readPID(_ path: String) -> pid_t? {
            (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }

        /// Live (not zombie) processes, each with its `stat` fields after the command name
        /// (state, ppid, pgrp, …) and its command line.
        private func liveProcesses() -> [(pid: pid_t, fields: [Substring], commandLine: String)] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return entries.compactMap { entry in
                guard let pid = pid_t(entry),
                    let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                    let close = stat.lastIndex(of: ")")
                else { return nil }
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                guard fields.count > 2, fields[0] != "Z" else { return nil }
                let raw = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(entry)/cmdline"))) ?? Data()
                let commandLine = String(decoding: raw.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
                return (pid, fields, commandLine)
            }
        }

        private func processes(inGroup group: pid_t) -> [String] {
            liveProcesses().filter { $0.fields[2] == "\(group)" }.map { "\($0.pid): \($0.commandLine)" }
        }

        private func processes(naming text: String) -> [String] {
            liveProcesses().filter { $0.commandLine.contains(text) }.map { "\($0.pid): \($0.commandLine)" }
        }

        private func isAlive(_ pid: pid_t) -> Bool { liveProcesses().contains { $0.pid == pid } }

        private func acceptsConnections(port: Int) -> Bool {
            guard let fd = try? connectLoopback(port: port, timeout: .seconds(2)) else { return false }
            close(fd)
            return true
        }
    }
}
