import Testing

/// An invalid `warren worker` setting, given by environment variable or by flag: the
/// arguments of the "exits 78, naming the key" tests.
struct InvalidSetting: Sendable, CustomTestStringConvertible {
    let environment: [String: String]
    let arguments: [String]
    /// The name the error message must contain.
    let key: String

    var testDescription: String {
        (environment.map { "\($0.key)=\($0.value)" } + arguments).joined(separator: " ")
    }
}
