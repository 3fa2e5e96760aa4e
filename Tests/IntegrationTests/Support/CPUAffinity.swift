import Foundation

/// The CPUs this process may run on (`Cpus_allowed_list` of `/proc/self/status`, e.g. `0-3,6`),
/// in ascending order. A child inherits them, and Swift's cooperative pool on Linux is as wide as
/// the child's set: `taskset -c` on a subset fixes the pool's width whatever the machine.
func allowedCPUs() throws -> [Int] {
    let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else {
        throw SetupError("/proc/self/status has no Cpus_allowed_list line")
    }
    let list = line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces)
    let cpus = list.split(separator: ",").flatMap { range -> [Int] in
        let bounds = range.split(separator: "-").compactMap { Int($0) }
        guard let first = bounds.first else { return [] }
        return Array(first...(bounds.last ?? first))
    }
    guard !cpus.isEmpty else { throw SetupError("no CPU in Cpus_allowed_list: \(list)") }
    return cpus
}
