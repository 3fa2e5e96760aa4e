import Testing
@testable import Warren

/// `JobScheduleError` as users see it: a `code` to switch on (with a `default:`), the parts at
/// fault through properties, and the descriptions operators have always read.
@Suite struct JobScheduleErrorTests {
    @Test func aMalformedSpecificationHasCodeInvalid() {
        #expect {
            try JobSchedule("@fortnightly")
        } throws: { error in
            guard let error = error as? JobScheduleError else { return false }
            return error.code == .invalid && error.text == "@fortnightly" && error.field == nil
                && error.problem.hasPrefix("unknown shorthand")
                && error.description == "invalid schedule '@fortnightly': \(error.problem)"
        }
    }

    @Test func aMalformedCronFieldHasCodeInvalidFieldAndNamesTheField() {
        #expect {
            try JobSchedule("61 * * * *")
        } throws: { error in
            guard let error = error as? JobScheduleError else { return false }
            return error.code == .invalidField && error.field == "minute" && error.text == "61"
                && error.description == "invalid minute field '61': \(error.problem)"
        }
    }

    @Test func codesAreDistinctNamedAndSwitchableWithDefault() {
        func what(_ error: JobScheduleError) -> String {
            switch error.code {
            case .invalidField: "field \(error.field ?? "?")"
            default: "whole"
            }
        }
        #expect(what(.invalidField("hour", "25", "out of range")) == "field hour")
        #expect(what(.invalid("x", "bad")) == "whole")
        #expect(Set([JobScheduleError.Code.invalid, .invalidField, .invalid]).count == 2)
        #expect("\(JobScheduleError.Code.invalid) \(JobScheduleError.Code.invalidField)" == "invalid invalidField")
        #expect(JobScheduleError.invalid("x", "bad") == .invalid("x", "bad"))
        #expect(JobScheduleError.invalid("x", "bad") != .invalid("y", "bad"))
    }
}
