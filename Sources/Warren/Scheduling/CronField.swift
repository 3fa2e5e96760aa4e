/// One of a cron expression's five fields: the set of values it allows.
///
/// Syntax, as in Vixie cron: a comma-separated list of `*`, `N`, `N-M`, each optionally with a
/// step `/S` (`*/15`, `1-30/2`). Months and weekdays also take English three-letter names
/// (`jan`, `mon-fri`), case-insensitive. `N/S` without a range is refused rather than guessed at
/// (implementations disagree on its meaning).
struct CronField: Equatable, Sendable {
    enum Kind: String, Sendable {
        case minute, hour, dayOfMonth = "day-of-month", month, dayOfWeek = "day-of-week"

        var range: ClosedRange<Int> {
            switch self {
            case .minute: 0...59
            case .hour: 0...23
            case .dayOfMonth: 1...31
            case .month: 1...12
            // 7 is Sunday too, as in every cron; folded into 0 below.
            case .dayOfWeek: 0...7
            }
        }

        var names: [String] {
            switch self {
            case .month: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
            case .dayOfWeek: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
            default: []
            }
        }

        /// The value of the first name (`jan` = 1, `sun` = 0).
        var firstNameValue: Int { self == .month ? 1 : 0 }
    }

    let kind: Kind
    /// Bit `v` set when value `v` is allowed.
    let values: UInt64
    /// The field's text starts with `*`: Vixie cron's rule for combining the two day fields
    /// looks at exactly this (`*/2` counts as a star).
    let startsWithStar: Bool

    init(_ text: Substring, kind: Kind) throws(JobScheduleError) {
        self.kind = kind
        startsWithStar = text.first == "*"
        var values: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            values |= try Self.parse(item: item, kind: kind, whole: text)
        }
        if kind == .dayOfWeek, values & (1 << 7) != 0 {
            values = (values | 1) & ~(1 << 7)
        }
        self.values = values
    }

    func contains(_ value: Int) -> Bool {
        values & (1 << UInt64(value)) != 0
    }

    /// The smallest allowed value ≥ `value`, if any.
    func first(atLeast value: Int) -> Int? {
        let upper = kind == .dayOfWeek ? 6 : kind.range.upperBound
        guard value <= upper else { return nil }
        return (max(value, kind.range.lowerBound)...upper).first(where: contains)
    }

    private static func parse(item: Substring, kind: Kind, whole: Substring) throws(JobScheduleError) -> UInt64 {
        func fail(_ problem: String) -> JobScheduleError {
            .invalidField(kind.rawValue, String(whole), problem)
        }
        guard !item.isEmpty else { throw fail("has an empty list item") }
        let parts = item.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        var step = 1
        if parts.count == 2 {
            guard let value = Int(parts[1]), value >= 1 else { throw fail("step '\(parts[1])' must be a whole number ≥ 1") }
            step = value
        }
        let range: ClosedRange<Int>
        if parts[0] == "*" {
            range = kind == .dayOfWeek ? 0...6 : kind.range
        } else if let dash = parts[0].firstIndex(of: "-") {
            let low = try value(parts[0][..<dash], kind: kind, fail: fail)
            let high = try value(parts[0][parts[0].index(after: dash)...], kind: kind, fail: fail)
            guard low <= high else { throw fail("range \(parts[0]) runs backwards") }
            range = low...high
        } else {
            let single = try value(parts[0], kind: kind, fail: fail)
            guard parts.count == 1 else { throw fail("step without a range ('\(item)'): write \(single)-\(kind.range.upperBound)/\(step) or */\(step)") }
            range = single...single
        }
        var bits: UInt64 = 0
        for value in stride(from: range.lowerBound, through: range.upperBound, by: step) {
            bits |= 1 << UInt64(value)
        }
        return bits
    }

    private static func value(
        _ text: Substring, kind: Kind, fail: (String) -> JobScheduleError
    ) throws(JobScheduleError) -> Int {
        if !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(text) {
            guard kind.range.contains(number) else {
                throw fail("\(number) is outside \(kind.range.lowerBound)–\(kind.range.upperBound)")
            }
            return number
        }
        if let index = kind.names.firstIndex(of: text.lowercased()) {
            return index + kind.firstNameValue
        }
        throw fail("'\(text)' is not a number\(kind.names.isEmpty ? "" : " or a name (\(kind.names.first!)…\(kind.names.last!))")")
    }
}
