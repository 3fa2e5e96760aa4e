import Foundation

extension TestEnvironment {
    /// The built executable of the example package `Examples/<name>`: `$variable` when set
    /// (`make test` sets `WARREN_EXAMPLE_ORDER_WORKER` and `WARREN_EXAMPLE_WEBAPP`), else
    /// `<package root>/Examples/<name>/.build/debug/<name>`.
    func exampleBinary(_ name: String, variable: String) throws -> String {
        let fromEnvironment = ProcessInfo.processInfo.environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        // This file is <root>/Tests/IntegrationTests/Support/TestEnvironment+Examples.swift.
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { root.deleteLastPathComponent() }
        let path = fromEnvironment ?? root.appendingPathComponent("Examples/\(name)/.build/debug/\(name)").path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw SetupError(
                "example executable not found at \(path): build it with `scripts/build-examples.sh` "
                    + "or point \(variable) at it (`make test` does both).")
        }
        return path
    }
}
