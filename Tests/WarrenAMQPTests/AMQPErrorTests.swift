import CRabbitMQ
import Testing
@testable import WarrenAMQP

@Suite struct AMQPErrorTests {
    @Test func normalReplyIsNoError() {
        var reply = amqp_rpc_reply_t()
        reply.reply_type = AMQP_RESPONSE_NORMAL
        #expect(AMQPError.from(reply, context: "x") == nil)
    }

    @Test func channelCloseKeepsTheBrokersReplyCodeAndText() {
        let text = Array("NOT_FOUND - no queue 'x' in vhost '/'".utf8)
        text.withUnsafeBufferPointer { buffer in
            var close = amqp_channel_close_t()
            close.reply_code = 404
            close.reply_text = amqp_bytes_t(len: buffer.count, bytes: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
            withUnsafeMutablePointer(to: &close) { pointer in
                var reply = amqp_rpc_reply_t()
                reply.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION
                reply.reply.id = AMQP_CHANNEL_CLOSE_METHOD
                reply.reply.decoded = UnsafeMutableRawPointer(pointer)
                let error = AMQPError.from(reply, context: "queue.declare 'x'")
                #expect(error == .channelClosed(replyCode: 404, replyText: "NOT_FOUND - no queue 'x' in vhost '/'", context: "queue.declare 'x'"))
                #expect(error?.description == "queue.declare 'x': 404 NOT_FOUND - no queue 'x' in vhost '/'")
                #expect(error?.replyCode == 404)
                #expect(error?.isPermanent == true)
            }
        }
    }

    @Test func connectionCloseKeepsTheBrokersReplyCodeAndText() {
        let text = Array("ACCESS_REFUSED - Login was refused".utf8)
        text.withUnsafeBufferPointer { buffer in
            var close = amqp_connection_close_t()
            close.reply_code = 403
            close.reply_text = amqp_bytes_t(len: buffer.count, bytes: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
            withUnsafeMutablePointer(to: &close) { pointer in
                var reply = amqp_rpc_reply_t()
                reply.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION
                reply.reply.id = AMQP_CONNECTION_CLOSE_METHOD
                reply.reply.decoded = UnsafeMutableRawPointer(pointer)
                let error = AMQPError.from(reply, context: "login")
                #expect(error?.description == "login: connection closed by broker: 403 ACCESS_REFUSED - Login was refused")
                #expect(error?.isPermanent == true)
            }
        }
    }

    @Test func libraryStatusBecomesLibrarysMessage() {
        var reply = amqp_rpc_reply_t()
        reply.reply_type = AMQP_RESPONSE_LIBRARY_EXCEPTION
        reply.library_error = AMQP_STATUS_SOCKET_ERROR.rawValue
        let error = AMQPError.from(reply, context: "receive")
        #expect(error == .library(status: AMQP_STATUS_SOCKET_ERROR.rawValue, message: "a socket error occurred", context: "receive"))
        #expect(error?.isPermanent == false)
    }

    @Test func transientFailuresAreNotPermanent() {
        #expect(!AMQPError.heartbeatTimeout.isPermanent)
        #expect(!AMQPError.connectionClosed(replyCode: 320, replyText: "CONNECTION_FORCED", context: "c").isPermanent)
        #expect(AMQPError.channelClosed(replyCode: 406, replyText: "PRECONDITION_FAILED", context: "c").isPermanent)
    }
}
