import Testing
@testable import WarrenHosting

/// `HTTPProbeError` as users see it: a `code` to switch on (with a `default:`), details through
/// properties, and descriptions unchanged from when it was an enum.
@Suite struct HTTPProbeErrorTests {
    static let examples: [(HTTPProbeError, HTTPProbeError.Code, String)] = [
        (.invalidURL("ftp://x/", problem: "not http"), .invalidURL, "invalid URL 'ftp://x/': not http"),
        (.cannotResolve(host: "nowhere", reason: "Name or service not known"), .cannotResolve,
         "cannot resolve nowhere: Name or service not known"),
        (.cannotConnect(address: "127.0.0.1:1", reason: "Connection refused"), .cannotConnect,
         "cannot connect to 127.0.0.1:1: Connection refused"),
        (.timedOut(address: "[::1]:8080", during: "waiting for the response", after: .milliseconds(1500)), .timedOut,
         "[::1]:8080: timed out after 1.5s waiting for the response"),
        (.badResponse(address: "h:80", reason: "not HTTP"), .badResponse, "h:80: not HTTP"),
    ]

    @Test func everyKindHasItsCodeAndKeepsItsDescription() {
        for (error, code, description) in Self.examples {
            #expect(error.code == code, "\(error)")
            #expect(error.description == description)
        }
        let codes = Self.examples.map(\.1)
        #expect(Set(codes).count == codes.count)
        #expect(codes.map(\.description) == ["invalidURL", "cannotResolve", "cannotConnect", "timedOut", "badResponse"])
    }

    @Test func detailsAreReadThroughProperties() {
        let timedOut = HTTPProbeError.timedOut(address: "h:1", during: "connecting", after: .seconds(2))
        #expect(timedOut.target == "h:1" && timedOut.during == "connecting" && timedOut.timeout == .seconds(2) && timedOut.reason == nil)
        let refused = HTTPProbeError.cannotConnect(address: "h:1", reason: "Connection refused")
        #expect(refused.target == "h:1" && refused.reason == "Connection refused" && refused.during == nil && refused.timeout == nil)
        #expect(HTTPProbeError.invalidURL("u", problem: "p").target == "u")
        #expect(HTTPProbeError.cannotResolve(host: "h", reason: "r").target == "h")
        #expect(HTTPProbeError.badResponse(address: "a", reason: "r").reason == "r")
    }

    @Test func codeWorksInASwitchWithDefault() {
        func retry(_ error: HTTPProbeError) -> Bool {
            switch error.code {
            case .timedOut, .cannotConnect: true
            default: false
            }
        }
        #expect(retry(.cannotConnect(address: "a", reason: "r")))
        #expect(!retry(.invalidURL("u", problem: "p")))
    }
}
