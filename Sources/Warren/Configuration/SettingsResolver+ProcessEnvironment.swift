#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SettingsResolver {
    /// The process environment as a dictionary (read from `environ` without Foundation).
    public static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        guard var pointer = Optional(environ) else { return result }
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}
