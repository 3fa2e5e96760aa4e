import Testing
@testable import Warren

/// `ErrorDescription.of`: the text `"\(error)"` gives, for the errors handlers throw.
@Suite struct ErrorDescriptionTests {
    struct Described: Error, CustomStringConvertible {
        var description: String { "described: 42" }
    }

    enum Plain: Error { case failed(code: Int) }

    struct Silent: Error { var code = 7 }

    static let errors: [any Error] = [
        Described(), PermanentFailure(Described()), PermanentFailure(PermanentFailure(Described())),
        Plain.failed(code: 3), PermanentFailure(Plain.failed(code: 4)), Silent(), PermanentFailure(Silent()),
        UndecodableMessage("bad body at items[0]"),
    ]

    @Test(arguments: errors.indices)
    func matchesTheInterpolation(_ index: Int) {
        let error = Self.errors[index]
        #expect(ErrorDescription.of(error) == "\(error)")
    }

    @Test func aPermanentFailureIsDescribedByItsWrappedError() {
        #expect(ErrorDescription.of(PermanentFailure(Described())) == "described: 42")
    }
}
