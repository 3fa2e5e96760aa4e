/*
 * warren_bench: helper for bench/run.sh, written directly on librabbitmq-c.
 *
 * It is both the load generator and the reference ("minimal C") consumer
 * that Warren is measured against:
 *
 *   warren_bench declare HOST PORT QUEUE DLX QUEUE_TYPE
 *       Deletes QUEUE if present, then declares it durable with
 *       x-dead-letter-exchange=DLX and x-queue-type=QUEUE_TYPE (both strings),
 *       and for quorum queues x-delivery-limit=20, x-dead-letter-strategy=
 *       at-least-once, x-overflow=reject-publish: exactly the arguments
 *       `warren worker` declares its work queue with by default (Topology), so
 *       that Warren's own declare of the same queue succeeds.
 *   warren_bench delete HOST PORT QUEUE...
 *       Deletes each QUEUE if present (a missing one is fine).
 *   warren_bench publish HOST PORT QUEUE COUNT SIZE [BODY]
 *       Prefills QUEUE (default exchange) with COUNT persistent messages of
 *       exactly SIZE bytes of JSON ({"pad":"xxx..."}), or of BODY verbatim
 *       when given (SIZE is then ignored), content_type application/json,
 *       unique message_id, using publisher confirms with a pipelined window.
 *       Exits non-zero on any nack or missing confirm.
 *   warren_bench pace HOST PORT QUEUE COUNT SIZE RATE
 *       Paced publisher for the latency benchmark: COUNT persistent messages
 *       like `publish`'s (SIZE bytes of JSON), message i sent at start + i/RATE
 *       (absolute CLOCK_MONOTONIC deadlines, so a late send does not delay the
 *       next ones), each with header timestamp_in_ms = the wall clock in whole
 *       milliseconds at the send, as `warren publish` and RabbitMQ's
 *       message-timestamp plugin stamp it. No confirms while pacing (they
 *       would pace the publisher by the broker); the consumers count what
 *       arrives. The last message alone is published in confirm mode, and its
 *       confirm awaited before the close: the queue takes a channel's messages
 *       in order, so it then holds every one (once, 1 of 20,000 never reached
 *       the consumer, and whether the queue had it was unknown).
 *   warren_bench latency HOST PORT QUEUE PREFETCH COUNT
 *       The `consume` loop, plus at each delivery ("handler start") the age
 *       now_ms - timestamp_in_ms measured exactly as Warren's
 *       warren_message_age_seconds does (MessageAge.swift: wall clock
 *       truncated to ms, a negative age counted as 0), recorded in the same
 *       buckets (WarrenMetrics.messageAgeBuckets). Exits after COUNT messages
 *       and prints the histogram in Prometheus text format, so that the
 *       harness computes both consumers' quantiles with one function.
 *   warren_bench consume HOST PORT QUEUE PREFETCH COUNT
 *       Minimal consumer: basic.qos(PREFETCH), basic.consume(no_ack=false),
 *       amqp_consume_message loop, one basic.ack (multiple=false) per
 *       message; exits after COUNT messages. Prints timings.
 *   warren_bench fail HOST PORT QUEUE PREFETCH COUNT QUEUE_TYPE dead|retry
 *                     RETRY_QUEUE TTL_MS
 *       The failure-path reference: every message fails. Declares what Warren
 *       declares for failures (QUEUE.dlx fanout -> QUEUE.dead, RETRY_QUEUE
 *       with x-message-ttl TTL_MS back to QUEUE; all of QUEUE_TYPE), then
 *       consumes like `consume` and publishes each message's copy, as Warren
 *       does, on a second connection in confirm mode (persistent, mandatory,
 *       the x-warren-* headers), to QUEUE.dlx (dead) or RETRY_QUEUE (retry),
 *       many unconfirmed at once; acks the originals (multiple) only after
 *       their copies' confirms. Exits after COUNT originals are acked; any
 *       nack, return or close ends it with status 2. Prints timings.
 *   warren_bench ready HOST PORT QUEUE
 *       Prints the queue's ready message count (passive queue.declare).
 *   warren_bench watch HOST PORT QUEUE START_COUNT INTERVAL_MS TIMEOUT_S
 *                      [DEST DEST_COUNT]
 *       Polls the ready count over one connection every INTERVAL_MS and
 *       prints wall-clock (CLOCK_REALTIME, seconds) time stamps:
 *         "first_drop <t> <count>"  first poll where count < START_COUNT
 *         "empty <t>"               first poll where count == 0 (and, with
 *                                   DEST, DEST holds >= DEST_COUNT ready
 *                                   messages: the failure path's copies have
 *                                   all arrived where they belong)
 *       With $BENCH_WATCH_UNTIL=K, "empty" means count <= K instead of 0.
 *       DEST is polled only after the first drop (the consumer declares it
 *       before it consumes). Exits 0 after "empty", 3 on timeout.
 *
 * Credentials come from $BENCH_AMQP_USER / $BENCH_AMQP_PASS (default
 * guest/guest), vhost from $BENCH_AMQP_VHOST (default "/").
 */
#define _POSIX_C_SOURCE 200809L
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CH 1

static double now_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_real(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "warren_bench: %s\n", what);
  exit(2);
}

static void die_reply(amqp_rpc_reply_t r, const char *what) {
  switch (r.reply_type) {
  case AMQP_RESPONSE_NORMAL:
    return;
  case AMQP_RESPONSE_NONE:
    fprintf(stderr, "warren_bench: %s: missing RPC reply\n", what);
    break;
  case AMQP_RESPONSE_LIBRARY_EXCEPTION:
    fprintf(stderr, "warren_bench: %s: %s\n", what,
            amqp_error_string2(r.library_error));
    break;
  case AMQP_RESPONSE_SERVER_EXCEPTION:
    if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
      amqp_connection_close_t *m = r.reply.decoded;
      fprintf(stderr, "warren_bench: %s: connection closed %u %.*s\n", what,
              m->reply_code, (int)m->reply_text.len,
              (char *)m->reply_text.bytes);
    } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
      amqp_channel_close_t *m = r.reply.decoded;
      fprintf(stderr, "warren_bench: %s: channel closed %u %.*s\n", what,
              m->reply_code, (int)m->reply_text.len,
              (char *)m->reply_text.bytes);
    } else {
      fprintf(stderr, "warren_bench: %s: server exception method 0x%08x\n",
              what, r.reply.id);
    }
    break;
  }
  exit(2);
}

static void check_rpc(amqp_connection_state_t c, const char *what) {
  die_reply(amqp_get_rpc_reply(c), what);
}

static long parse_long(const char *s, const char *name) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || v < 0) {
    fprintf(stderr, "warren_bench: bad %s: %s\n", name, s);
    exit(64);
  }
  return v;
}

static const char *env_or(const char *k, const char *d) {
  const char *v = getenv(k);
  return (v && *v) ? v : d;
}

static amqp_connection_state_t open_conn(const char *host, int port) {
  amqp_connection_state_t c = amqp_new_connection();
  amqp_socket_t *s = amqp_tcp_socket_new(c);
  if (!s)
    die("creating TCP socket");
  struct timeval tv = {10, 0};
  int rc = amqp_socket_open_noblock(s, host, port, &tv);
  if (rc != AMQP_STATUS_OK) {
    fprintf(stderr, "warren_bench: connect %s:%d: %s\n", host, port,
            amqp_error_string2(rc));
    exit(2);
  }
  die_reply(amqp_login(c, env_or("BENCH_AMQP_VHOST", "/"), 0, 131072, 0,
                       AMQP_SASL_METHOD_PLAIN,
                       env_or("BENCH_AMQP_USER", "guest"),
                       env_or("BENCH_AMQP_PASS", "guest")),
            "login");
  amqp_channel_open(c, CH);
  check_rpc(c, "channel.open");
  return c;
}

/* Closes a consumer's connection once its last acks have had time to settle.
 * A quorum queue applies an ack through its Raft log, apart from the channel's
 * own shutdown: closing right after the last basic.ack returned some of the
 * last acked messages to the queue as ready (38 of 5,000 in one run). The
 * pause comes after the consumer's own clock stopped; the harness's clock
 * stops at ready = 0, before it. */
static void close_conn(amqp_connection_state_t c) {
  amqp_channel_close(c, CH, AMQP_REPLY_SUCCESS);
  amqp_connection_close(c, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(c);
}

static void linger_then_close(amqp_connection_state_t c) {
  struct timespec pause = {0, 500000000L};
  nanosleep(&pause, NULL);
  close_conn(c);
}

/* ---------------------------------------------------------------- declare */

static amqp_table_entry_t utf8_entry(const char *key, amqp_bytes_t v) {
  amqp_table_entry_t e;
  e.key = amqp_cstring_bytes(key);
  e.value.kind = AMQP_FIELD_KIND_UTF8;
  e.value.value.bytes = v;
  return e;
}

static amqp_table_entry_t i64_entry(const char *key, int64_t v) {
  amqp_table_entry_t e;
  e.key = amqp_cstring_bytes(key);
  e.value.kind = AMQP_FIELD_KIND_I64;
  e.value.value.i64 = v;
  return e;
}

/* Appends to E[N..] the arguments with which Warren declares a quorum queue
 * that dead-letters at least once (x-dead-letter-strategy, and x-overflow
 * reject-publish, which it requires); returns the new count. */
static int add_at_least_once(amqp_table_entry_t *e, int n) {
  e[n++] = utf8_entry("x-dead-letter-strategy",
                      amqp_cstring_bytes("at-least-once"));
  e[n++] = utf8_entry("x-overflow", amqp_cstring_bytes("reject-publish"));
  return n;
}

static int cmd_declare(const char *host, int port, const char *queue,
                       const char *dlx, const char *qtype) {
  amqp_connection_state_t c = open_conn(host, port);
  amqp_queue_delete(c, CH, amqp_cstring_bytes(queue), 0, 0);
  check_rpc(c, "queue.delete");

  amqp_table_entry_t e[5];
  int n = 0;
  e[n++] = utf8_entry("x-dead-letter-exchange", amqp_cstring_bytes(dlx));
  e[n++] = utf8_entry("x-queue-type", amqp_cstring_bytes(qtype));
  if (!strcmp(qtype, "quorum")) {
    /* Warren's default quorum arguments (Topology.queueArguments). */
    e[n++] = i64_entry("x-delivery-limit", 20);
    n = add_at_least_once(e, n);
  }
  amqp_table_t args = {n, e};

  amqp_queue_declare(c, CH, amqp_cstring_bytes(queue), 0, 1, 0, 0, args);
  check_rpc(c, "queue.declare");
  close_conn(c);
  return 0;
}

static int cmd_delete(const char *host, int port, char **queues, int n) {
  amqp_connection_state_t c = open_conn(host, port);
  for (int i = 0; i < n; i++) {
    amqp_queue_delete(c, CH, amqp_cstring_bytes(queues[i]), 0, 0);
    check_rpc(c, "queue.delete");
  }
  close_conn(c);
  return 0;
}

/* ---------------------------------------------------------------- publish */

/* The message body: BODY verbatim, or SIZE bytes of {"pad":"xxx..."}. */
static amqp_bytes_t make_body(long size, const char *literal) {
  static const char head[] = "{\"pad\":\"";
  static const char tail[] = "\"}";
  const long overhead = (long)(sizeof head - 1 + sizeof tail - 1);
  if (literal) {
    amqp_bytes_t b = {strlen(literal), strdup(literal)};
    if (!b.bytes)
      die("out of memory");
    return b;
  }
  if (size < overhead) {
    fprintf(stderr, "warren_bench: SIZE must be >= %ld\n", overhead);
    exit(64);
  }
  char *body = malloc((size_t)size);
  if (!body)
    die("out of memory");
  memcpy(body, head, sizeof head - 1);
  memset(body + sizeof head - 1, 'x', (size_t)(size - overhead));
  memcpy(body + size - (long)(sizeof tail - 1), tail, sizeof tail - 1);
  amqp_bytes_t b = {(size_t)size, body};
  return b;
}

/* The wall clock in whole milliseconds since the epoch, truncated like
 * Warren's WallClock.nowMilliseconds. */
static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + (int64_t)(ts.tv_nsec / 1000000);
}

static int cmd_publish(const char *host, int port, const char *queue,
                       long count, long size, const char *literal) {
  amqp_bytes_t bbody = make_body(size, literal);

  /* confirmed[i] for delivery tag i+1 */
  unsigned char *confirmed = calloc((size_t)count + 1, 1);
  if (!confirmed)
    die("out of memory");
  const long window = 1000;
  long published = 0, nconfirmed = 0, nnacked = 0;
  uint64_t low = 0; /* all tags <= low are confirmed (acked or nacked) */

  amqp_connection_state_t c = open_conn(host, port);
  amqp_confirm_select(c, CH);
  check_rpc(c, "confirm.select");

  char idbuf[64];
  amqp_basic_properties_t props;
  memset(&props, 0, sizeof props);
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                 AMQP_BASIC_MESSAGE_ID_FLAG;
  props.content_type = amqp_cstring_bytes("application/json");
  props.delivery_mode = 2;
  amqp_bytes_t rkey = amqp_cstring_bytes(queue);
  long pid = (long)getpid();
  double t0 = now_mono();

  while (nconfirmed < count) {
    while (published < count && published - nconfirmed < window) {
      snprintf(idbuf, sizeof idbuf, "bench-%ld-%ld", pid, published + 1);
      props.message_id = amqp_cstring_bytes(idbuf);
      int rc = amqp_basic_publish(c, CH, amqp_empty_bytes, rkey, 0, 0, &props,
                                  bbody);
      if (rc != AMQP_STATUS_OK) {
        fprintf(stderr, "warren_bench: publish: %s\n", amqp_error_string2(rc));
        return 2;
      }
      published++;
    }
    /* Wait for at least one confirm frame. */
    amqp_frame_t f;
    struct timeval tv = {60, 0};
    int rc = amqp_simple_wait_frame_noblock(c, &f, &tv);
    if (rc == AMQP_STATUS_TIMEOUT) {
      fprintf(stderr, "warren_bench: no confirm for 60 s (%ld/%ld confirmed)\n",
              nconfirmed, count);
      return 2;
    }
    if (rc != AMQP_STATUS_OK) {
      fprintf(stderr, "warren_bench: wait frame: %s\n", amqp_error_string2(rc));
      return 2;
    }
    if (f.frame_type != AMQP_FRAME_METHOD)
      continue;
    uint64_t tag;
    int multiple, nack = 0;
    switch (f.payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
      amqp_basic_ack_t *a = f.payload.method.decoded;
      tag = a->delivery_tag;
      multiple = a->multiple;
      break;
    }
    case AMQP_BASIC_NACK_METHOD: {
      amqp_basic_nack_t *n = f.payload.method.decoded;
      tag = n->delivery_tag;
      multiple = n->multiple;
      nack = 1;
      break;
    }
    case AMQP_CHANNEL_CLOSE_METHOD: {
      amqp_channel_close_t *m = f.payload.method.decoded;
      fprintf(stderr, "warren_bench: channel closed %u %.*s\n", m->reply_code,
              (int)m->reply_text.len, (char *)m->reply_text.bytes);
      return 2;
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
      amqp_connection_close_t *m = f.payload.method.decoded;
      fprintf(stderr, "warren_bench: connection closed %u %.*s\n",
              m->reply_code, (int)m->reply_text.len,
              (char *)m->reply_text.bytes);
      return 2;
    }
    default:
      continue;
    }
    if (tag == 0 || tag > (uint64_t)published) {
      fprintf(stderr, "warren_bench: confirm for unknown tag %" PRIu64 "\n",
              tag);
      return 2;
    }
    uint64_t from = multiple ? low + 1 : tag;
    for (uint64_t t = from; t <= tag; t++) {
      if (!confirmed[t]) {
        confirmed[t] = 1;
        nconfirmed++;
        if (nack)
          nnacked++;
      }
    }
    while (low < (uint64_t)published && confirmed[low + 1])
      low++;
    amqp_maybe_release_buffers(c);
  }
  double dt = now_mono() - t0;
  close_conn(c);
  printf("published %ld messages of %ld bytes in %.3f s (%.0f msg/s), "
         "%ld nacked\n",
         count, (long)bbody.len, dt, dt > 0 ? count / dt : 0.0, nnacked);
  free(confirmed);
  free(bbody.bytes);
  return nnacked ? 1 : 0;
}

/* ---------------------------------------------------------------- consume */

/* basic.qos(PREFETCH) and basic.consume(no_ack=false) on a new connection. */
static amqp_connection_state_t open_consumer(const char *host, int port,
                                             const char *queue, long prefetch) {
  amqp_connection_state_t c = open_conn(host, port);
  amqp_basic_qos(c, CH, 0, (uint16_t)prefetch, 0);
  check_rpc(c, "basic.qos");
  amqp_basic_consume(c, CH, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0,
                     0, amqp_empty_table);
  check_rpc(c, "basic.consume");
  return c;
}

/* One delivery into *env, waiting at most *tv ({0, 0}: only what has already
 * arrived): 0 = got one, 1 = none came in time, 2 = the broker stopped the
 * consumer (reported). N of COUNT received so far, for messages. */
static int receive_delivery(amqp_connection_state_t c, amqp_envelope_t *env,
                            const struct timeval *tv, long n, long count) {
  for (;;) {
    amqp_rpc_reply_t r = amqp_consume_message(c, env, tv, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
      return 0;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        r.library_error == AMQP_STATUS_TIMEOUT)
      return 1;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
      /* A non-delivery frame (e.g. basic.cancel, channel.close), put back by
       * amqp_consume_message: read it at once. */
      amqp_frame_t f;
      if (amqp_simple_wait_frame(c, &f) == AMQP_STATUS_OK &&
          f.frame_type == AMQP_FRAME_METHOD &&
          (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
           f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD ||
           f.payload.method.id == AMQP_BASIC_CANCEL_METHOD)) {
        fprintf(stderr, "warren_bench: consumer stopped by broker "
                        "(method 0x%08x) after %ld/%ld\n",
                f.payload.method.id, n, count);
        return 2;
      }
      continue;
    }
    die_reply(r, "consume");
  }
}

/* The next delivery into *env: 0, or 2 (reported) when none came for 60 s or
 * the broker stopped the consumer. N of COUNT received so far, for messages. */
static int next_delivery(amqp_connection_state_t c, amqp_envelope_t *env,
                         long n, long count) {
  static const struct timeval minute = {60, 0};
  amqp_maybe_release_buffers(c);
  int rc = receive_delivery(c, env, &minute, n, count);
  if (rc == 1)
    fprintf(stderr, "warren_bench: no delivery for 60 s after %ld/%ld\n", n,
            count);
  return rc ? 2 : 0;
}

static int cmd_consume(const char *host, int port, const char *queue,
                       long prefetch, long count) {
  double t_start = now_mono();
  amqp_connection_state_t c = open_consumer(host, port, queue, prefetch);

  double t_first = 0;
  long n = 0;
  while (n < count) {
    amqp_envelope_t env;
    if (next_delivery(c, &env, n, count))
      return 2;
    if (n == 0)
      t_first = now_mono();
    if (amqp_basic_ack(c, CH, env.delivery_tag, 0) != AMQP_STATUS_OK)
      die("basic.ack failed");
    amqp_destroy_envelope(&env);
    n++;
  }
  double t_end = now_mono();
  linger_then_close(c);
  double total = t_end - t_start, drain = t_end - t_first;
  printf("consumed %ld messages: %.3f s since start (%.0f msg/s), "
         "%.3f s since first delivery (%.0f msg/s)\n",
         n, total, n / total, drain, drain > 0 ? n / drain : 0.0);
  return 0;
}

/* ------------------------------------------------------------------- fail */

/* The failure-path reference: what any at-least-once client must do when every
 * message fails, done as cheaply as librabbitmq allows, so that the harness can
 * tell the broker's cost of a failure from Warren's. For each delivery, as
 * Warren does (WarrenConsumer+Settlement.swift, SettlementPipeline.swift):
 *   - a copy (same body and properties, the original's headers plus Warren's
 *     x-warren-* ones, persistent, mandatory) is published on a SECOND
 *     connection in confirm mode, at once, many unconfirmed at a time (at most
 *     the prefetch: only unacked originals have copies in flight);
 *   - the original is acked only after its copy's confirm. Acks are coalesced:
 *     after each read of confirms, one basic.ack(multiple) up to the newest
 *     original whose copy and every earlier copy are confirmed.
 * One thread polls both sockets; no handler, no logging, no metrics. */

/* Where the copies go and what they say. */
struct copy_route {
  amqp_bytes_t exchange;    /* Q.dlx, or "" (the default exchange) for a retry */
  amqp_bytes_t routing_key; /* NULL bytes: the original's routing key (Q) */
  int retry;                /* adds x-warren-attempt: 2 */
  amqp_bytes_t error_message;
};

/* A copy awaiting its confirm, at ring[seq % prefetch] for publish sequence
 * number seq (the broker's confirm tag): which original it stands for. */
struct pending_copy {
  uint64_t delivery_tag;
  int confirmed;
};

/* Declares what Warren declares at connect for the failure path (Topology):
 * the fanout exchange Q.dlx, Q.dead of QTYPE bound to it, and RETRY_QUEUE of
 * QTYPE with x-message-ttl TTL_MS dead-lettering back to Q through the default
 * exchange (quorum: at-least-once). Q itself exists (`declare`). */
static void declare_failure_topology(amqp_connection_state_t c,
                                     const char *queue, const char *qtype,
                                     const char *retry_queue, long ttl_ms) {
  char dlx[256], dead[256];
  snprintf(dlx, sizeof dlx, "%s.dlx", queue);
  snprintf(dead, sizeof dead, "%s.dead", queue);
  amqp_exchange_declare(c, CH, amqp_cstring_bytes(dlx),
                        amqp_cstring_bytes("fanout"), 0, 1, 0, 0,
                        amqp_empty_table);
  check_rpc(c, "exchange.declare");

  amqp_table_entry_t e[6];
  int n = 0;
  e[n++] = utf8_entry("x-queue-type", amqp_cstring_bytes(qtype));
  amqp_table_t type_only = {n, e};
  amqp_queue_declare(c, CH, amqp_cstring_bytes(dead), 0, 1, 0, 0, type_only);
  check_rpc(c, "queue.declare (dead)");
  amqp_queue_bind(c, CH, amqp_cstring_bytes(dead), amqp_cstring_bytes(dlx),
                  amqp_empty_bytes, amqp_empty_table);
  check_rpc(c, "queue.bind (dead)");

  /* Topology.retryQueueArguments */
  e[n++] = i64_entry("x-message-ttl", ttl_ms);
  e[n++] = utf8_entry("x-dead-letter-exchange", amqp_cstring_bytes(""));
  e[n++] = utf8_entry("x-dead-letter-routing-key", amqp_cstring_bytes(queue));
  if (!strcmp(qtype, "quorum"))
    n = add_at_least_once(e, n);
  amqp_table_t retry_args = {n, e};
  amqp_queue_declare(c, CH, amqp_cstring_bytes(retry_queue), 0, 1, 0, 0,
                     retry_args);
  check_rpc(c, "queue.declare (retry)");
}

/* Publishes ENV's copy along ROUTE on P (in confirm mode): its body and
 * properties, persistent, mandatory, with the original's headers followed by
 * the ones Warren adds (DeadLetterHeaders; RetryPolicy.attemptHeader). */
static void publish_copy(amqp_connection_state_t p, const amqp_envelope_t *env,
                         const struct copy_route *route) {
  /* Grown to fit the largest original header table seen; never freed. */
  static amqp_table_entry_t *h;
  static int cap;
  const amqp_basic_properties_t *orig = &env->message.properties;
  int norig = (orig->_flags & AMQP_BASIC_HEADERS_FLAG)
                  ? orig->headers.num_entries : 0;
  if (norig + 7 > cap) {
    cap = norig + 7;
    h = realloc(h, (size_t)cap * sizeof *h);
    if (!h)
      die("out of memory");
  }
  if (norig)
    memcpy(h, orig->headers.entries, (size_t)norig * sizeof *h);

  /* x-warren-failed-at: RFC 3339 UTC with milliseconds, per copy. */
  char at[40];
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t len = strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(at + len, sizeof at - len, ".%03ldZ", ts.tv_nsec / 1000000L);

  int n = norig;
  h[n++] = utf8_entry("x-warren-error-type", amqp_cstring_bytes("DemoFailure"));
  h[n++] = utf8_entry("x-warren-error-message", route->error_message);
  h[n++] = utf8_entry("x-warren-failed-at", amqp_cstring_bytes(at));
  h[n++] = i64_entry("x-warren-attempts", 1);
  h[n++] = utf8_entry("x-warren-original-exchange", env->exchange);
  h[n++] = utf8_entry("x-warren-original-routing-key", env->routing_key);
  if (route->retry)
    h[n++] = i64_entry("x-warren-attempt", 2);

  amqp_basic_properties_t props = *orig;
  props._flags |= AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.delivery_mode = 2;
  props.headers.num_entries = n;
  props.headers.entries = h;
  amqp_bytes_t rkey =
      route->routing_key.bytes ? route->routing_key : env->routing_key;
  int rc = amqp_basic_publish(p, CH, route->exchange, rkey, 1, 0, &props,
                              env->message.body);
  if (rc != AMQP_STATUS_OK) {
    fprintf(stderr, "warren_bench: publishing a copy: %s\n",
            amqp_error_string2(rc));
    exit(2);
  }
}

/* Any frame on P but a confirm ends the run: a nack, a basic.return (the
 * copy's queue is missing) or a close means the copy path is broken. */
static void die_publisher_frame(const amqp_frame_t *f) {
  switch (f->payload.method.id) {
  case AMQP_BASIC_NACK_METHOD:
    die("a copy was nacked by the broker");
    break;
  case AMQP_BASIC_RETURN_METHOD: {
    amqp_basic_return_t *m = f->payload.method.decoded;
    fprintf(stderr, "warren_bench: a copy was returned unroutable: %u %.*s\n",
            m->reply_code, (int)m->reply_text.len,
            (char *)m->reply_text.bytes);
    exit(2);
  }
  case AMQP_CHANNEL_CLOSE_METHOD:
  case AMQP_CONNECTION_CLOSE_METHOD: {
    /* Both start with reply_code, reply_text. */
    amqp_channel_close_t *m = f->payload.method.decoded;
    fprintf(stderr, "warren_bench: publishing connection closed: %u %.*s\n",
            m->reply_code, (int)m->reply_text.len,
            (char *)m->reply_text.bytes);
    exit(2);
  }
  default:
    fprintf(stderr, "warren_bench: unexpected method 0x%08x on the publishing "
                    "connection\n", f->payload.method.id);
    exit(2);
  }
}

static int has_input(amqp_connection_state_t c) {
  return amqp_frames_enqueued(c) || amqp_data_in_buffer(c);
}

static int cmd_fail(const char *host, int port, const char *queue,
                    long prefetch, long count, const char *qtype,
                    const char *target, const char *retry_queue,
                    long ttl_ms) {
  int retry = !strcmp(target, "retry");
  if ((!retry && strcmp(target, "dead")) || prefetch < 1) {
    fprintf(stderr, "warren_bench: fail: TARGET is dead or retry, PREFETCH "
                    ">= 1\n");
    return 64;
  }
  char dlx[256];
  snprintf(dlx, sizeof dlx, "%s.dlx", queue);
  struct copy_route route;
  if (retry) {
    route.exchange = amqp_cstring_bytes("");
    route.routing_key = amqp_cstring_bytes(retry_queue);
    route.error_message = amqp_cstring_bytes("demo failure requested: transient");
  } else {
    /* Warren dead-letters with the original's routing key. */
    route.exchange = amqp_cstring_bytes(dlx);
    route.routing_key = amqp_empty_bytes;
    route.error_message = amqp_cstring_bytes("demo failure requested: permanent");
  }
  route.retry = retry;

  double t_start = now_mono();
  /* The topology first (Warren declares it at every connect), then confirm
   * mode on the publishing connection, then the consumer. */
  amqp_connection_state_t p = open_conn(host, port);
  declare_failure_topology(p, queue, qtype, retry_queue, ttl_ms);
  amqp_confirm_select(p, CH);
  check_rpc(p, "confirm.select");
  amqp_connection_state_t c = open_consumer(host, port, queue, prefetch);

  struct pending_copy *ring = calloc((size_t)prefetch, sizeof *ring);
  if (!ring)
    die("out of memory");
  const uint64_t slots = (uint64_t)prefetch;
  /* Copies are numbered 1, 2, ... in publish order (the confirm tags). */
  uint64_t published = 0;  /* = deliveries taken */
  uint64_t confirmed = 0;  /* every copy <= this is confirmed */
  uint64_t acked = 0;      /* every original up to copy `acked` is acked */
  long confirm_frames = 0, ack_frames = 0;
  uint64_t most_unconfirmed = 0;
  double t_first = 0;
  const struct timeval now_only = {0, 0};

  while (acked < (uint64_t)count) {
    /* Wait for either socket unless librabbitmq already holds input. */
    struct pollfd fds[2] = {
        {amqp_get_sockfd(c), published < (uint64_t)count ? POLLIN : 0, 0},
        {amqp_get_sockfd(p), POLLIN, 0}};
    int buffered = has_input(c) || has_input(p);
    int rc = poll(fds, 2, buffered ? 0 : 60000);
    if (rc < 0 && errno != EINTR)
      die("poll failed");
    if (rc == 0 && !buffered) {
      fprintf(stderr, "warren_bench: fail: nothing for 60 s after %" PRIu64
                      " deliveries, %" PRIu64 " confirmed, %" PRIu64
                      " acked\n", published, confirmed, acked);
      return 2;
    }

    /* Every delivery that has arrived: publish its copy at once. */
    while (published < (uint64_t)count && (fds[0].revents || has_input(c))) {
      amqp_envelope_t env;
      int got = receive_delivery(c, &env, &now_only, (long)published, count);
      if (got == 2)
        return 2;
      if (got == 1)
        break;
      if (published == 0)
        t_first = now_mono();
      /* At most PREFETCH originals are unacked, so this slot's copy was
       * confirmed and its original acked. */
      if (published + 1 - acked > slots)
        die("more copies in flight than the prefetch allows");
      publish_copy(p, &env, &route);
      published++;
      ring[published % slots].delivery_tag = env.delivery_tag;
      ring[published % slots].confirmed = 0;
      amqp_destroy_envelope(&env);
    }
    amqp_maybe_release_buffers(c);
    if (published - confirmed > most_unconfirmed)
      most_unconfirmed = published - confirmed;

    /* Every confirm that has arrived (a basic.ack may confirm many). */
    for (;;) {
      amqp_frame_t f;
      rc = amqp_simple_wait_frame_noblock(p, &f, &now_only);
      if (rc == AMQP_STATUS_TIMEOUT)
        break;
      if (rc != AMQP_STATUS_OK) {
        fprintf(stderr, "warren_bench: reading confirms: %s\n",
                amqp_error_string2(rc));
        return 2;
      }
      if (f.frame_type != AMQP_FRAME_METHOD)
        continue;
      if (f.payload.method.id != AMQP_BASIC_ACK_METHOD)
        die_publisher_frame(&f);
      amqp_basic_ack_t *a = f.payload.method.decoded;
      if (a->delivery_tag > published || a->delivery_tag == 0) {
        fprintf(stderr, "warren_bench: confirm for unknown copy %" PRIu64 "\n",
                a->delivery_tag);
        return 2;
      }
      confirm_frames++;
      uint64_t from = a->multiple ? confirmed + 1 : a->delivery_tag;
      for (uint64_t s = from; s <= a->delivery_tag; s++)
        if (s > confirmed)
          ring[s % slots].confirmed = 1;
      while (confirmed < published && ring[(confirmed + 1) % slots].confirmed)
        confirmed++;
    }
    amqp_maybe_release_buffers(p);

    /* One ack for every original whose copy (and every earlier one) is
     * confirmed: delivery tags rise with the copies' numbers. */
    if (confirmed > acked) {
      if (amqp_basic_ack(c, CH, ring[confirmed % slots].delivery_tag, 1) !=
          AMQP_STATUS_OK)
        die("basic.ack failed");
      acked = confirmed;
      ack_frames++;
    }
  }
  double t_end = now_mono();
  linger_then_close(c);
  close_conn(p);
  free(ring);
  double total = t_end - t_start, drain = t_end - t_first;
  printf("failed %ld messages (copy to %s confirmed, then original acked): "
         "%.3f s since start (%.0f msg/s), %.3f s since first delivery "
         "(%.0f msg/s); %ld confirm frames, %ld ack frames, at most %" PRIu64
         " copies unconfirmed\n",
         count, retry ? retry_queue : dlx, total, count / total, drain,
         drain > 0 ? count / drain : 0.0, confirm_frames, ack_frames,
         most_unconfirmed);
  return 0;
}

/* ------------------------------------------------------------ pace/latency */

/* Waits up to 60 s for the confirm of the one message published since
 * confirm.select (delivery tag 1). Returns 1 when the broker acked it. */
static int last_confirmed(amqp_connection_state_t c) {
  for (;;) {
    amqp_frame_t f;
    struct timeval tv = {60, 0};
    int rc = amqp_simple_wait_frame_noblock(c, &f, &tv);
    if (rc != AMQP_STATUS_OK) {
      fprintf(stderr, "warren_bench: pace: no confirm of the last message: %s\n",
              amqp_error_string2(rc));
      return 0;
    }
    if (f.frame_type != AMQP_FRAME_METHOD)
      continue;
    if (f.payload.method.id == AMQP_BASIC_ACK_METHOD)
      return 1;
    fprintf(stderr, "warren_bench: pace: the last message was not confirmed "
                    "(method 0x%08x)\n", f.payload.method.id);
    return 0;
  }
}

static int cmd_pace(const char *host, int port, const char *queue, long count,
                    long size, long rate) {
  if (rate <= 0) {
    fprintf(stderr, "warren_bench: RATE must be > 0\n");
    return 64;
  }
  amqp_bytes_t bbody = make_body(size, NULL);
  amqp_connection_state_t c = open_conn(host, port);
  char idbuf[64];
  amqp_table_entry_t h[1];
  h[0].key = amqp_cstring_bytes("timestamp_in_ms");
  h[0].value.kind = AMQP_FIELD_KIND_I64;
  amqp_basic_properties_t props;
  memset(&props, 0, sizeof props);
  props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                 AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_HEADERS_FLAG;
  props.content_type = amqp_cstring_bytes("application/json");
  props.delivery_mode = 2;
  props.headers.num_entries = 1;
  props.headers.entries = h;
  amqp_bytes_t rkey = amqp_cstring_bytes(queue);
  long pid = (long)getpid(), late = 0;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long i = 0; i < count; i++) {
    if (i == count - 1) {
      /* The last message is confirmed (see the usage above): from here on. */
      amqp_confirm_select(c, CH);
      check_rpc(c, "confirm.select");
    }
    /* Deadline of message i: start + i/rate, absolute. */
    long long ns = (long long)start.tv_nsec + (long long)(i * 1000000000.0 / rate);
    struct timespec at = {start.tv_sec + (time_t)(ns / 1000000000LL),
                          (long)(ns % 1000000000LL)};
    struct timespec cur;
    clock_gettime(CLOCK_MONOTONIC, &cur);
    if (cur.tv_sec > at.tv_sec ||
        (cur.tv_sec == at.tv_sec && cur.tv_nsec > at.tv_nsec + 1000000L))
      late++; /* more than 1 ms behind schedule */
    else
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
    snprintf(idbuf, sizeof idbuf, "pace-%ld-%ld", pid, i + 1);
    props.message_id = amqp_cstring_bytes(idbuf);
    h[0].value.value.i64 = now_ms();
    int rc = amqp_basic_publish(c, CH, amqp_empty_bytes, rkey, 0, 0, &props,
                                bbody);
    if (rc != AMQP_STATUS_OK) {
      fprintf(stderr, "warren_bench: publish: %s\n", amqp_error_string2(rc));
      return 2;
    }
  }
  struct timespec end;
  clock_gettime(CLOCK_MONOTONIC, &end);
  double dt = (double)(end.tv_sec - start.tv_sec) +
              (double)(end.tv_nsec - start.tv_nsec) / 1e9;
  if (count > 0 && !last_confirmed(c))
    return 2;
  close_conn(c);
  printf("paced %ld messages in %.3f s (%.0f msg/s, asked %ld), %ld sent "
         "more than 1 ms late\n",
         count, dt, dt > 0 ? count / dt : 0.0, rate, late);
  free(bbody.bytes);
  return 0;
}

/* WarrenMetrics.messageAgeBuckets, in milliseconds (upper bounds, le). */
static const double age_bounds_ms[] = {
    1,    2,    3,    5,     7.5,   10,    25,     50,     100,    250,
    500,  1000, 2500, 5000,  10000, 30000, 60000, 300000, 900000, 3600000};
#define NBOUNDS (sizeof age_bounds_ms / sizeof age_bounds_ms[0])

/* Publish time in ms from the timestamp_in_ms header, read as Warren's
 * MessageAge.publishedAtMilliseconds does (any integer kind, a timestamp, a
 * double); else the AMQP timestamp (seconds). 0 = none. */
static int published_ms(const amqp_basic_properties_t *p, int64_t *out) {
  if (p->_flags & AMQP_BASIC_HEADERS_FLAG) {
    for (int i = 0; i < p->headers.num_entries; i++) {
      const amqp_table_entry_t *e = &p->headers.entries[i];
      if (e->key.len != 15 || memcmp(e->key.bytes, "timestamp_in_ms", 15))
        continue;
      const amqp_field_value_t *v = &e->value;
      switch (v->kind) {
      case AMQP_FIELD_KIND_I8: *out = v->value.i8; return 1;
      case AMQP_FIELD_KIND_U8: *out = v->value.u8; return 1;
      case AMQP_FIELD_KIND_I16: *out = v->value.i16; return 1;
      case AMQP_FIELD_KIND_U16: *out = v->value.u16; return 1;
      case AMQP_FIELD_KIND_I32: *out = v->value.i32; return 1;
      case AMQP_FIELD_KIND_U32: *out = v->value.u32; return 1;
      case AMQP_FIELD_KIND_I64: *out = v->value.i64; return 1;
      case AMQP_FIELD_KIND_U64:
      case AMQP_FIELD_KIND_TIMESTAMP: *out = (int64_t)v->value.u64; return 1;
      case AMQP_FIELD_KIND_F64: *out = (int64_t)v->value.f64; return 1;
      default: break;
      }
    }
  }
  if (p->_flags & AMQP_BASIC_TIMESTAMP_FLAG) {
    *out = (int64_t)p->timestamp * 1000;
    return 1;
  }
  return 0;
}

static int cmd_latency(const char *host, int port, const char *queue,
                       long prefetch, long count) {
  long bucket[NBOUNDS + 1] = {0}; /* last: +Inf */
  long n = 0, no_stamp = 0;
  double sum = 0;
  amqp_connection_state_t c = open_consumer(host, port, queue, prefetch);
  fprintf(stderr, "warren_bench: latency: consuming\n");
  while (n < count) {
    amqp_envelope_t env;
    if (next_delivery(c, &env, n, count))
      return 2;
    /* "Handler start": the delivery is decoded; measure before the ack. */
    int64_t pub;
    if (published_ms(&env.message.properties, &pub)) {
      int64_t age = now_ms() - pub;
      if (age < 0)
        age = 0;
      size_t b = 0;
      while (b < NBOUNDS && (double)age > age_bounds_ms[b])
        b++;
      bucket[b]++;
      sum += (double)age / 1000.0;
    } else {
      no_stamp++;
    }
    if (amqp_basic_ack(c, CH, env.delivery_tag, 0) != AMQP_STATUS_OK)
      die("basic.ack failed");
    amqp_destroy_envelope(&env);
    n++;
  }
  linger_then_close(c);
  long cum = 0;
  for (size_t b = 0; b < NBOUNDS; b++) {
    cum += bucket[b];
    printf("warren_message_age_seconds_bucket{le=\"%g\"} %ld\n",
           age_bounds_ms[b] / 1000.0, cum);
  }
  cum += bucket[NBOUNDS];
  printf("warren_message_age_seconds_bucket{le=\"+Inf\"} %ld\n", cum);
  printf("warren_message_age_seconds_sum %.6f\n", sum);
  printf("warren_message_age_seconds_count %ld\n", cum);
  if (no_stamp)
    fprintf(stderr, "warren_bench: %ld messages without a timestamp\n",
            no_stamp);
  return 0;
}

/* ------------------------------------------------------------ ready/watch */

static long ready_count(amqp_connection_state_t c, const char *queue) {
  amqp_queue_declare_ok_t *ok = amqp_queue_declare(
      c, CH, amqp_cstring_bytes(queue), 1, 0, 0, 0, amqp_empty_table);
  check_rpc(c, "queue.declare (passive)");
  long v = (long)ok->message_count;
  amqp_maybe_release_buffers(c);
  return v;
}

static int cmd_ready(const char *host, int port, const char *queue) {
  amqp_connection_state_t c = open_conn(host, port);
  printf("%ld\n", ready_count(c, queue));
  close_conn(c);
  return 0;
}

static int cmd_watch(const char *host, int port, const char *queue,
                     long start_count, long interval_ms, long timeout_s,
                     const char *dest, long dest_count) {
  amqp_connection_state_t c = open_conn(host, port);
  double deadline = now_mono() + (double)timeout_s;
  /* $BENCH_WATCH_UNTIL: "empty" once the count is at most this (default 0),
   * to time the first messages of a deep queue. */
  long until = parse_long(env_or("BENCH_WATCH_UNTIL", "0"), "BENCH_WATCH_UNTIL");
  int dropped = 0;
  struct timespec pause = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
  setvbuf(stdout, NULL, _IOLBF, 0);
  while (now_mono() < deadline) {
    long n = ready_count(c, queue);
    double t = now_real();
    if (!dropped && n < start_count) {
      printf("first_drop %.6f %ld\n", t, n);
      dropped = 1;
    }
    int done = n <= until;
    if (done && dest && ready_count(c, dest) < dest_count)
      done = 0; /* the copies are not all there yet */
    if (done) {
      if (!dropped)
        printf("first_drop %.6f 0\n", t);
      printf("empty %.6f\n", t);
      close_conn(c);
      return 0;
    }
    nanosleep(&pause, NULL);
  }
  fprintf(stderr, "warren_bench: watch: queue not empty after %ld s\n",
          timeout_s);
  close_conn(c);
  return 3;
}

/* ------------------------------------------------------------------- main */

static void usage(void) {
  fprintf(stderr,
          "usage:\n"
          "  warren_bench declare HOST PORT QUEUE DLX QUEUE_TYPE\n"
          "  warren_bench delete  HOST PORT QUEUE...\n"
          "  warren_bench publish HOST PORT QUEUE COUNT SIZE [BODY]\n"
          "  warren_bench pace    HOST PORT QUEUE COUNT SIZE RATE\n"
          "  warren_bench consume HOST PORT QUEUE PREFETCH COUNT\n"
          "  warren_bench latency HOST PORT QUEUE PREFETCH COUNT\n"
          "  warren_bench fail    HOST PORT QUEUE PREFETCH COUNT QUEUE_TYPE "
          "dead|retry RETRY_QUEUE TTL_MS\n"
          "  warren_bench ready   HOST PORT QUEUE\n"
          "  warren_bench watch   HOST PORT QUEUE START_COUNT INTERVAL_MS "
          "TIMEOUT_S [DEST DEST_COUNT]\n");
  exit(64);
}

int main(int argc, char **argv) {
  if (argc < 5)
    usage();
  const char *cmd = argv[1], *host = argv[2], *queue = argv[4];
  int port = (int)parse_long(argv[3], "PORT");
  if (!strcmp(cmd, "declare") && argc == 7)
    return cmd_declare(host, port, queue, argv[5], argv[6]);
  if (!strcmp(cmd, "delete"))
    return cmd_delete(host, port, argv + 4, argc - 4);
  if (!strcmp(cmd, "publish") && (argc == 7 || argc == 8))
    return cmd_publish(host, port, queue, parse_long(argv[5], "COUNT"),
                       parse_long(argv[6], "SIZE"), argc == 8 ? argv[7] : NULL);
  if (!strcmp(cmd, "pace") && argc == 8)
    return cmd_pace(host, port, queue, parse_long(argv[5], "COUNT"),
                    parse_long(argv[6], "SIZE"), parse_long(argv[7], "RATE"));
  if ((!strcmp(cmd, "consume") || !strcmp(cmd, "latency")) && argc == 7) {
    long prefetch = parse_long(argv[5], "PREFETCH");
    if (prefetch > 65535)
      usage();
    if (!strcmp(cmd, "latency"))
      return cmd_latency(host, port, queue, prefetch,
                         parse_long(argv[6], "COUNT"));
    return cmd_consume(host, port, queue, prefetch,
                       parse_long(argv[6], "COUNT"));
  }
  if (!strcmp(cmd, "fail") && argc == 11) {
    long prefetch = parse_long(argv[5], "PREFETCH");
    if (prefetch > 65535)
      usage();
    return cmd_fail(host, port, queue, prefetch, parse_long(argv[6], "COUNT"),
                    argv[7], argv[8], argv[9], parse_long(argv[10], "TTL_MS"));
  }
  if (!strcmp(cmd, "ready") && argc == 5)
    return cmd_ready(host, port, queue);
  if (!strcmp(cmd, "watch") && (argc == 8 || argc == 10))
    return cmd_watch(host, port, queue, parse_long(argv[5], "START_COUNT"),
                     parse_long(argv[6], "INTERVAL_MS"),
                     parse_long(argv[7], "TIMEOUT_S"),
                     argc == 10 ? argv[8] : NULL,
                     argc == 10 ? parse_long(argv[9], "DEST_COUNT") : 0);
  usage();
  return 64;
}
