/// The `# HELP` text of every metric Warren exports: what it counts and in which unit, one
/// sentence, the Prometheus exposition conventions (base units, `_total` counters, `_seconds`).
///
/// The one place these texts live: `WarrenMetricsFactory` passes them to the Prometheus
/// registry (swift-metrics' `MetricsFactory` has no help parameter), the README's metrics table
/// starts each row's meaning with them (a unit test compares), and a test fails when a
/// `warren_` metric made anywhere in `Sources/` has no entry here. A program with a metrics
/// backend of its own can read them from here too.
public enum WarrenMetricHelp {
    /// Metric name → help text.
    public static let texts: [String: String] = [
        // Consumer (`ConsumerMetrics`), every series labelled `queue`.
        "warren_messages_received_total": "Deliveries handed to a handler.",
        "warren_messages_redelivered_total":
            "Deliveries the broker flagged redelivered (possible duplicates), a subset of warren_messages_received_total.",
        "warren_messages_acked_total": "Messages handled and acked.",
        "warren_messages_dead_lettered_total": "Messages copied to the dead-letter exchange, by reason.",
        "warren_messages_retried_total": "Retries scheduled, by kind: immediate (in process) or delayed (through a retry queue).",
        "warren_messages_isolated_total": "Redelivered messages the crash-loop guard handled alone.",
        "warren_messages_requeued_total":
            "Messages given back to the queue, by reason: unstarted (by a drain) or copy_failed (retry or dead-letter copy not published).",
        "warren_messages_abandoned_total": "Messages left unacked (connection lost, drain deadline passed); the broker redelivers them.",
        "warren_handler_duration_seconds": "Handler run time of every handled message, whatever its outcome, in seconds.",
        "warren_message_age_seconds":
            "Time from publish (timestamp_in_ms header, else the AMQP timestamp) to handler start, in seconds.",
        "warren_messages_in_flight": "Handlers running now.",
        "warren_concurrency_limit": "Configured maximum of handlers running at once (concurrency).",
        "warren_connection_state": "1 for the consumer's current connection state, 0 for the others; a stall keeps consuming at 1.",
        "warren_stalled_seconds":
            "How long the consumer has been stalled (consuming, but deliveries cannot flow), in seconds; 0 until a stall lasts stallTimeout.",
        "warren_reconnects_total": "Reconnect attempts scheduled after a connection failure.",
        "warren_broker_node": "1 for the broker node (host:port) the consumer is connected to, 0 for the other configured nodes.",
        // Publishing (`PublishMetrics`).
        "warren_publish_confirms_total": "Confirmed publishes, by the broker's answer: ack, nack, unroutable, timeout or error.",
        // Logging (`LogOutput`).
        "warren_log_lines_dropped_total": "Log lines dropped because stdout was too slow.",
        // Scheduled jobs (`JobMetrics`), every series labelled `job_name` (not `job`: Prometheus' own target label).
        "warren_job_runs_total": "Scheduled job ticks, by outcome: completed, failed or skipped (not run).",
        "warren_job_leader": "1 while this replica holds the job's lease and runs its ticks, else 0.",
        "warren_job_last_success_timestamp_seconds":
            "Unix time in seconds of this replica's last completed run of the job; 0 if none since it started.",
        "warren_job_lag_seconds": "Start of the job's last run minus its scheduled tick, in seconds.",
        "warren_job_interval_seconds": "Longest gap between two consecutive ticks of the job's schedule, in seconds.",
    ]
}
