extension Broker {
    /// Raises a memory alarm on the broker (`set_vm_memory_high_watermark 0.00001`), waits until
    /// it is in force, runs `body`, and clears it again whether `body` returned or threw.
    ///
    /// Under the alarm RabbitMQ blocks every connection at its next publish (`connection.blocked`;
    /// it stops reading the socket), while consuming, acking and declaring go on. Use it only on
    /// a node of the suite's own (`OwnBroker`): the alarm is node-wide.
    func withMemoryAlarm<T>(_ body: () async throws -> T) async throws -> T {
        try await withCleanup {
            try await raiseMemoryAlarm()
            return try await body()
        } cleanup: {
            await clearMemoryAlarm()
        }
    }

    /// Raises the memory alarm of `withMemoryAlarm` and waits until it is in force; pair it with
    /// `clearMemoryAlarm()` on every path.
    func raiseMemoryAlarm() async throws {
        try await rabbitmqctl(["set_vm_memory_high_watermark", "0.00001"])
        try await poll(timeout: .seconds(20), interval: .seconds(1), "the memory alarm to be in force") {
            try await rabbitmqctl(["eval", "rabbit_alarm:get_alarms()."]).stdout.contains("memory")
        }
    }

    /// Clears the memory alarm (idempotent); a failure is printed, not thrown.
    func clearMemoryAlarm() async {
        do { try await rabbitmqctl(["set_vm_memory_high_watermark", "0.4"]) } catch {
            print("integration tests: could not clear the memory alarm on \(env.amqpURL): \(error)")
        }
    }

    /// Waits until the connection named `name` is `blocked` by the broker (it published under an
    /// alarm), and returns it.
    func waitUntilBlocked(connectionNamed name: String, timeout: Duration = .seconds(30)) async throws -> BrokerConnection {
        try await pollValue(timeout: timeout, interval: .seconds(1), "the broker to block \(name)") {
            try await listConnections().first { $0.connectionName == name && $0.state == "blocked" }
        }
    }
}
