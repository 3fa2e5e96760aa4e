import Testing
import Warren

@Suite struct ConsumerConfigurationTests {
    @Test func prefetchFromOneIsKept() {
        #expect(ConsumerConfiguration(queue: "q", prefetch: 1).prefetch == 1)
        var configuration = ConsumerConfiguration(queue: "q")
        configuration.prefetch = 65535
        #expect(configuration.prefetch == 65535)
    }

    /// 0 is "unlimited" to the broker: the library stops the process rather than consume that way
    /// (the CLI refuses `--prefetch 0` with exit 78 before it gets here; `SettingsResolverTests`).
    @Test func prefetchZeroInTheInitializerStopsTheProcess() async {
        await #expect(processExitsWith: .failure) {
            _ = ConsumerConfiguration(queue: "q", prefetch: 0)
        }
    }

    @Test func prefetchZeroSetLaterStopsTheProcess() async {
        await #expect(processExitsWith: .failure) {
            var configuration = ConsumerConfiguration(queue: "q")
            configuration.prefetch = 0
        }
    }
}
