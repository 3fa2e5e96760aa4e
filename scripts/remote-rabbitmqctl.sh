#!/bin/sh
# rabbitmqctl for a broker that is not one of scripts/broker.sh's nodes: a CI service
# container, or a node of your own. Point the suite at it with
#   WARREN_TEST_AMQP_URL=amqp://user:pass@host:5672/
#   WARREN_TEST_RABBITMQCTL=$PWD/scripts/remote-rabbitmqctl.sh
#   WARREN_TEST_RABBITMQ_NODE=rabbit@host   the node's name (its hostname must resolve here)
#   WARREN_TEST_ERLANG_COOKIE=...           the node's Erlang cookie
# and `make test` uses it instead of starting a throwaway broker. The suite's own extra nodes
# (the tests that stop or alarm a broker) still start locally, so rabbitmq-server must be
# installed either way. The cookie is passed on the command line (--erlang-cookie), so it is
# visible to `ps` on this machine: use a throwaway broker's cookie, never a production one's.
set -eu
# Not /usr/sbin/rabbitmqctl: as root that wrapper switches to the rabbitmq user first.
ctl=/usr/lib/rabbitmq/bin/rabbitmqctl
[ -x "$ctl" ] || ctl=$(command -v rabbitmqctl)
exec "$ctl" -n "${WARREN_TEST_RABBITMQ_NODE:?set WARREN_TEST_RABBITMQ_NODE to the node name, e.g. rabbit@rabbitmq}" \
    --erlang-cookie "${WARREN_TEST_ERLANG_COOKIE:?set WARREN_TEST_ERLANG_COOKIE to the Erlang cookie of that node}" "$@"
