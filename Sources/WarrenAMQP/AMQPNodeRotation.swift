/// The order in which one connection tries a cluster's nodes at each (re)connect.
///
/// `nodes` is the process's order (`AMQPURLList.ordered(shuffled:seed:)`, drawn once per
/// process so replicas spread over the nodes). Each attempt tries every node once, starting
/// with the node after the last one that failed — the node whose connection was lost, or the
/// last node that failed to connect — so a node that just died is tried last, not first, and
/// a reconnect does not spend its first deadline on it. After an attempt in which every node
/// failed, the next attempt starts where this one did. Pure: no I/O, no clock.
public struct AMQPNodeRotation: Sendable, Equatable {
    /// The process's order of the nodes; never empty.
    public let nodes: [AMQPURL]
    /// Index in `nodes` of the first node the next attempt tries.
    public private(set) var start = 0

    /// A rotation over `nodes` (not empty: a precondition), starting with the first.
    public init(_ nodes: [AMQPURL]) {
        precondition(!nodes.isEmpty, "an AMQPNodeRotation needs at least one node")
        self.nodes = nodes
    }

    /// Indices into `nodes`, in the order the next attempt tries them: each node once.
    public var attemptOrder: [Int] {
        nodes.indices.map { (start + $0) % nodes.count }
    }

    /// Records that the node at `index` failed (its connect, or its open connection): the next
    /// attempt starts with the node after it.
    public mutating func failed(_ index: Int) {
        start = (index + 1) % nodes.count
    }
}
