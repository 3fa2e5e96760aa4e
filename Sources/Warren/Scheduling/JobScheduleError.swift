/// Why a schedule specification was refused; its description names the part at fault.
public enum JobScheduleError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The whole specification is malformed.
    case invalid(String, String)
    /// One cron field is malformed: the field's name, its text, the problem.
    case invalidField(String, String, String)

    public var description: String {
        switch self {
        case .invalid(let spec, let problem): "invalid schedule '\(spec)': \(problem)"
        case .invalidField(let field, let text, let problem): "invalid \(field) field '\(text)': \(problem)"
        }
    }
}
