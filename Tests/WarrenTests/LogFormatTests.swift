import Glibc
import Logging
import Testing
@testable import Warren

@Suite struct LogFormatTests {
    @Test func rawValuesAreWhatTheEnvironmentVariableSays() {
        #expect(LogFormat(rawValue: "json") == .json)
        #expect(LogFormat(rawValue: "text") == .text)
        #expect(LogFormat(rawValue: "JSON") == nil)
        #expect(LogFormat.allCases == [.json, .text])
    }

    @Test func theDefaultFollowsWhetherStdoutIsATerminal() {
        #expect(LogFormat.default == (isatty(STDOUT_FILENO) == 1 ? .text : .json))
    }

    @Test func makeHandlerGivesTheFormatsHandlerWithLevelAndProvider() {
        let provider = Logger.MetadataProvider { [:] }
        let json = WarrenLogging.makeHandler(label: "a", format: .json, level: .debug, metadataProvider: provider)
        let text = WarrenLogging.makeHandler(label: "a", format: .text, level: .error)
        #expect(json is JSONLogHandler)
        #expect(json.logLevel == .debug)
        #expect(json.metadataProvider != nil)
        #expect(text is TextLogHandler)
        #expect(text.logLevel == .error)
    }
}
