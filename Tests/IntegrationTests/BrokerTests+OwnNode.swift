import Testing

extension BrokerTests {
    /// Tests that stop, restart or raise alarms on the broker. They run against a node of their
    /// own (`OwnBroker`, started by the first of them and destroyed when the suite ends), so the
    /// shared test broker stays up and unaffected.
    @Suite("Broker outages, restarts and alarms (own broker node)", .ownBroker)
    struct OwnNode {}
}
