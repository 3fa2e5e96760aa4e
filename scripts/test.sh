#!/usr/bin/env bash
# `make test`: unit and integration tests against a real broker, then `make lint`.
#
# Starts a throwaway broker unless WARREN_TEST_AMQP_URL is already set (then
# WARREN_TEST_RABBITMQCTL / WARREN_TEST_BROKER_DIR are passed through as the caller set
# them; scripts/remote-rabbitmqctl.sh serves as the rabbitmqctl of a broker in a container,
# as in the GitHub workflow). The tests get:
#   WARREN_TEST_AMQP_URL     the broker's URL
#   WARREN_TEST_RABBITMQCTL  a rabbitmqctl for that broker that needs no other env
#   WARREN_TEST_BROKER_DIR   its directory: scripts/broker.sh stop/start DIR restarts it
#   WARREN_BINARY            the built `warren` executable
#   WARREN_EXAMPLE_ORDER_WORKER, WARREN_EXAMPLE_WEBAPP, WARREN_EXAMPLE_SCHEDULED_JOBS
#                            the built example executables (scripts/build-examples.sh)
# The broker started here is destroyed on every exit path, and the exit status is the
# tests' (or lint's, when the tests passed).
#
# After the tests, `scripts/fuzz.sh smoke` runs every fuzz target for a bounded number of inputs
# (not with FILTER, nor with WARREN_TEST_SKIP_FUZZ=1).
#
# Knobs: FILTER=regex (swift test --filter); for checking this script itself,
# WARREN_TEST_SKIP_BUILD=1 and WARREN_TEST_CMD='shell command' (run instead of swift test).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "make test: $*" >&2; }
command -v swift >/dev/null 2>&1 || PATH=/opt/swift/usr/bin:$PATH

scripts/ensure-deps.sh

. scripts/lib/throwaway-broker.sh
test_log=""
cleanup() {
    local rc=$?
    trap '' INT TERM   # a second Ctrl-C must not leave an orphaned broker behind
    throwaway_broker_destroy
    rm -f "$test_log"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${WARREN_TEST_AMQP_URL:-}" ]; then
    throwaway_broker_start test
else
    log "using the broker at WARREN_TEST_AMQP_URL"
fi

if [ "${WARREN_TEST_SKIP_BUILD:-0}" != 1 ]; then
    # One build for the executable and the tests, so `swift test` needs no build of its own.
    scripts/check-warnings.sh swift build --build-tests
    # The examples are packages of their own, built the way a user's package would be.
    examples=$(scripts/build-examples.sh)
    WARREN_EXAMPLE_ORDER_WORKER=$(sed -n 's/^OrderWorker=//p' <<<"$examples")
    WARREN_EXAMPLE_WEBAPP=$(sed -n 's/^WebAppWithWorker=//p' <<<"$examples")
    WARREN_EXAMPLE_SCHEDULED_JOBS=$(sed -n 's/^ScheduledJobs=//p' <<<"$examples")
    export WARREN_EXAMPLE_ORDER_WORKER WARREN_EXAMPLE_WEBAPP WARREN_EXAMPLE_SCHEDULED_JOBS
fi

throwaway_broker_await
if [ -n "$broker_dir" ]; then
    WARREN_TEST_AMQP_URL=$(. "$broker_dir/env" && echo "$WARREN_AMQP_URL")
    WARREN_TEST_RABBITMQCTL=$broker_dir/rabbitmqctl
    WARREN_TEST_BROKER_DIR=$broker_dir
fi
export WARREN_TEST_AMQP_URL
[ -z "${WARREN_TEST_RABBITMQCTL:-}" ] || export WARREN_TEST_RABBITMQCTL
[ -z "${WARREN_TEST_BROKER_DIR:-}" ] || export WARREN_TEST_BROKER_DIR
export WARREN_BINARY=$PWD/.build/debug/warren

test_log=$(mktemp "${TMPDIR:-/tmp}/warren-test-output.XXXXXX")
test_status=0
if [ -n "${WARREN_TEST_CMD:-}" ]; then
    log "running WARREN_TEST_CMD instead of swift test"
    bash -c "$WARREN_TEST_CMD" 2>&1 | tee "$test_log" || test_status=$?
else
    [ -x "$WARREN_BINARY" ] || log "warning: $WARREN_BINARY was not built"
    log "swift test against $WARREN_TEST_AMQP_URL"
    swift test --skip-build --disable-xctest ${FILTER:+--filter "$FILTER"} 2>&1 | tee "$test_log" || test_status=$?
fi

# Done with the broker: stop it now rather than in the EXIT trap, so nothing it prints
# lands after the summary below.
throwaway_broker_destroy

# The fuzz targets for a bounded number of inputs each (make fuzz runs them long). Skipped
# for a FILTERed run, which is after particular tests.
fuzz_status=0
if [ -z "${FILTER:-}" ] && [ "${WARREN_TEST_SKIP_FUZZ:-0}" != 1 ]; then
    log "fuzz smoke (scripts/fuzz.sh smoke)"
    scripts/fuzz.sh smoke || fuzz_status=$?
fi

lint_status=0
scripts/lint.sh || lint_status=$?

# Lint prints after the test runner; repeat the runner's closing line last so that
# whoever reads the end of the log sees the verdict.
summary=$(grep -E 'Test run with [0-9]+ tests?' "$test_log" | tail -n 1 || true)
if [ "$test_status" -ne 0 ]; then
    log "tests FAILED (status $test_status)"
elif [ "$fuzz_status" -ne 0 ]; then
    log "tests passed but the fuzz smoke FAILED"
    test_status=$fuzz_status
elif [ "$lint_status" -ne 0 ]; then
    log "tests passed but lint FAILED"
    test_status=$lint_status
fi
[ -z "$summary" ] || echo "$summary"
# CI logs are cut in the middle: repeat every failure last, where a shortened log still shows it.
if [ "$test_status" -ne 0 ] && grep -q '✘' "$test_log"; then
    log "the failures again:"
    grep '✘' "$test_log" | grep -v 'Test run with' | head -n 40 >&2 || true
fi
exit "$test_status"
