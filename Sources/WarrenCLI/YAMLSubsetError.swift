/// Why a YAML configuration file was refused, and on which line.
///
/// The text never quotes the file: a value may be a secret (a password written in by mistake).
/// It may name a key, since keys are settings' names.
struct YAMLSubsetError: Error, Equatable, CustomStringConvertible {
    /// The 1-based line of the problem; 0 for the file as a whole (not UTF-8, say).
    let line: Int
    /// What is wrong and what to write instead.
    let problem: String

    var description: String { line > 0 ? "line \(line): \(problem)" : problem }
}
