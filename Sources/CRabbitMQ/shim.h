#ifndef WARREN_CRABBITMQ_SHIM_H
#define WARREN_CRABBITMQ_SHIM_H

// librabbitmq 0.12+ installs its headers under rabbitmq-c/; 0.11 (Debian bookworm) at the top level.
#if __has_include(<rabbitmq-c/amqp.h>)
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/tcp_socket.h>
#include <rabbitmq-c/ssl_socket.h>
#else
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
#endif

#include "tls_shim.h"
#include <sys/eventfd.h>
#include <sys/prctl.h>

// amqp_login_with_properties is variadic (the SASL credentials are varargs), and Swift cannot
// call C variadic functions: this fixes the PLAIN mechanism's two arguments.
static inline amqp_rpc_reply_t warren_login_plain(amqp_connection_state_t state,
                                                  const char *vhost,
                                                  int channel_max,
                                                  int frame_max,
                                                  int heartbeat,
                                                  const amqp_table_t *client_properties,
                                                  const char *user,
                                                  const char *password) {
    return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat,
                                      client_properties, AMQP_SASL_METHOD_PLAIN, user, password);
}

// SASL EXTERNAL (RabbitMQ's rabbitmq_auth_mechanism_ssl): the broker takes the user from the
// TLS client certificate; the one variadic argument is the identity string, which RabbitMQ
// ignores. Same reason for a wrapper as warren_login_plain.
static inline amqp_rpc_reply_t warren_login_external(amqp_connection_state_t state,
                                                     const char *vhost,
                                                     int channel_max,
                                                     int frame_max,
                                                     int heartbeat,
                                                     const amqp_table_t *client_properties,
                                                     const char *identity) {
    return amqp_login_with_properties(state, vhost, channel_max, frame_max, heartbeat,
                                      client_properties, AMQP_SASL_METHOD_EXTERNAL, identity);
}

// eventfd(2) is not exported by Glibc's Swift module; the owner thread's wake-up fd needs it.
static inline int warren_eventfd(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

// prctl is variadic. Names the calling thread (max 15 chars) so `top -H` and gdb show which
// threads own connections.
static inline void warren_set_thread_name(const char *name) {
    prctl(PR_SET_NAME, name, 0, 0, 0);
}

#endif
