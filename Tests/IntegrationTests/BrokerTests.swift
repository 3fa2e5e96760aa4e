import Testing

/// Tests that run the built `warren` executable against the real broker that `make test` starts.
///
/// Each test uses its own queue, `it.<name>.<random>`, and deletes it (with `<queue>.dlx` and
/// `<queue>.dead`) at the end. The suites are nested here and serialized: on a 2-core machine the
/// broker, `warren` and `rabbitmqctl` (~0.8 CPU-seconds a call) already compete for CPU, and
/// running 10,000-message publishes beside timing-sensitive tests would make those flaky.
/// The whole run takes about two minutes; the suite that stops and restarts a broker uses its own node.
@Suite(.serialized)
struct BrokerTests {}
