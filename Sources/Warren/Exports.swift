// `import Warren` is enough for a handler: the AMQP types it sees (`AMQPMessage`, `AMQPURL`,
// `AMQPError`…) come from WarrenAMQP, which users need not name.
@_exported import WarrenAMQP
