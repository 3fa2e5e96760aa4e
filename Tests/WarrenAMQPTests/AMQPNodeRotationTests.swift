import Testing
@testable import WarrenAMQP

@Suite struct AMQPNodeRotationTests {
    static let nodes = [AMQPURL(host: "a"), AMQPURL(host: "b"), AMQPURL(host: "c")]

    @Test func theFirstAttemptTriesEveryNodeInTheProcessOrder() {
        #expect(AMQPNodeRotation(Self.nodes).attemptOrder == [0, 1, 2])
    }

    /// The node whose connection was lost is tried last at the reconnect, not first: a dead
    /// node would otherwise cost a whole connect deadline at every failover.
    @Test func aLostNodeIsTriedLast() {
        var rotation = AMQPNodeRotation(Self.nodes)
        rotation.failed(1)
        #expect(rotation.attemptOrder == [2, 0, 1])
        rotation.failed(2)
        #expect(rotation.attemptOrder == [0, 1, 2])
    }

    /// An attempt in which every node failed ends with its last node failing: the next attempt
    /// starts where this one did.
    @Test func anAttemptThatFailedEverywhereStartsAgainWhereItDid() {
        var rotation = AMQPNodeRotation(Self.nodes)
        rotation.failed(0)
        let order = rotation.attemptOrder
        rotation.failed(order.last!)
        #expect(rotation.attemptOrder == order)
    }

    @Test func aSingleNodeIsAlwaysTried() {
        var rotation = AMQPNodeRotation([AMQPURL(host: "only")])
        rotation.failed(0)
        #expect(rotation.attemptOrder == [0])
    }

    /// A node that answers "refused" speaks for the cluster (users and vhosts are cluster-wide);
    /// nodes that cannot be reached say nothing.
    @Test func anAttemptIsARefusalWhenAnyNodeRefused() {
        let refused = AMQPError.connectionClosed(replyCode: 403, replyText: "ACCESS_REFUSED", context: "login")
        let unreachable = AMQPError.library(status: 0, message: "Connection refused", context: "connect to b:5672")
        let mixed = AMQPClusterConnectError(failures: [(Self.nodes[0], unreachable), (Self.nodes[1], refused)])
        #expect(mixed.isPermanent)
        let down = AMQPClusterConnectError(failures: [(Self.nodes[0], unreachable), (Self.nodes[1], unreachable)])
        #expect(!down.isPermanent)
        #expect(down.description.hasPrefix("all 2 nodes failed: a:5672: "))
    }

    /// Never a password: only hosts, ports and the errors.
    @Test func theErrorShowsNoPassword() {
        let node = AMQPURL(user: "u", password: "S3CRETpw", host: "h")
        let error = AMQPClusterConnectError(failures: [(node, AMQPError.library(status: 0, message: "timed out", context: "connect"))])
        #expect(!error.description.contains("S3CRETpw"))
    }
}
