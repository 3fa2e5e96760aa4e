/// Why a schedule specification was refused; its description names the part at fault.
///
/// A struct rather than an enum so that a new kind of refusal does not break an exhaustive
/// `switch` in your code: switch on ``code`` with a `default:` branch.
public struct JobScheduleError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The kind of refusal. Compare it (`error.code == .invalidField`) or switch on it with a
    /// `default:` branch; more codes may come. Its `description` is the constant's name.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// Private so that adding a case is not visible to users' switches.
        private enum Base: String, Sendable, Hashable {
            case invalid, invalidField
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The whole specification (or a job's name or setting) is malformed; ``JobScheduleError/text``
        /// is what was given.
        public static let invalid = Code(.invalid)
        /// One cron field is malformed; ``JobScheduleError/field`` names it and
        /// ``JobScheduleError/text`` is the field's text.
        public static let invalidField = Code(.invalidField)

        /// The constant's name, e.g. `invalidField`.
        public var description: String { base.rawValue }
    }

    /// The refusal and its details. Package access, so a new case is not a breaking change.
    package enum Kind: Equatable, Sendable {
        /// The whole specification is malformed: the text, the problem.
        case invalid(String, String)
        /// One cron field is malformed: the field's name, its text, the problem.
        case invalidField(String, String, String)
    }

    /// The refusal and its details; Warren's own code switches on it exhaustively.
    package let kind: Kind

    /// A refusal of `kind`.
    package init(_ kind: Kind) {
        self.kind = kind
    }

    /// A ``Code/invalid`` refusal of `text` (a specification, a job's name or setting), saying why.
    package static func invalid(_ text: String, _ problem: String) -> JobScheduleError {
        JobScheduleError(.invalid(text, problem))
    }

    /// A ``Code/invalidField`` refusal: the cron field's name, its text, the problem.
    package static func invalidField(_ field: String, _ text: String, _ problem: String) -> JobScheduleError {
        JobScheduleError(.invalidField(field, text, problem))
    }

    /// What kind of refusal this is.
    public var code: Code {
        switch kind {
        case .invalid: .invalid
        case .invalidField: .invalidField
        }
    }

    /// The text at fault: the whole specification (or job name or setting) for ``Code/invalid``,
    /// the field's text for ``Code/invalidField``.
    public var text: String {
        switch kind {
        case .invalid(let text, _), .invalidField(_, let text, _): text
        }
    }

    /// The cron field at fault (`minute`, `hour`, `day-of-month`, `month`, `day-of-week`) for
    /// ``Code/invalidField``; `nil` otherwise.
    public var field: String? {
        guard case .invalidField(let field, _, _) = kind else { return nil }
        return field
    }

    /// What is wrong, in words.
    public var problem: String {
        switch kind {
        case .invalid(_, let problem), .invalidField(_, _, let problem): problem
        }
    }

    /// The problem in words, naming the schedule text and the field, e.g. for `--schedule` errors.
    public var description: String {
        switch kind {
        case .invalid(let spec, let problem): "invalid schedule '\(spec)': \(problem)"
        case .invalidField(let field, let text, let problem): "invalid \(field) field '\(text)': \(problem)"
        }
    }
}
