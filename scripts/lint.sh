#!/usr/bin/env bash
# `make lint`: the files no compiler checks. The Dockerfile and compose file cannot be
# built on machines without a Docker engine, so linting them against hadolint and the
# compose-spec schema is the check they get; the systemd unit gets `systemd-analyze verify`,
# the Kubernetes manifests Kubernetes' own schemas (kubernetes-validate, offline), the
# Prometheus alert rules promtool (checked, and unit-tested against their tests file). The
# `Warren` library product is checked to stay free of Hummingbird, Prometheus and SwiftNIO.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/ensure-deps.sh --lint
# pip may have put the tools outside PATH (see ensure-deps.sh); look there too.
for d in $(python3 -c 'import site, sysconfig; print(sysconfig.get_path("scripts")); print(site.getuserbase() + "/bin")' 2>/dev/null); do
    [ -d "$d" ] && PATH="$PATH:$d"
done

status=0
step() {  # run one check, remember a failure, keep going so one run shows them all
    "$@" || { echo "lint: FAILED: $*" >&2; status=1; }
}

step hadolint Dockerfile
step scripts/check-lean-library.sh
# The image's version label defaults to what `warren --version` prints; keep them together.
version_matches() {
    local code image
    code=$(sed -n 's/^ *static let version = "\(.*\)"$/\1/p' Sources/WarrenCLI/WarrenCommand.swift)
    image=$(sed -n 's/^ARG VERSION=//p' Dockerfile)
    [ -n "$code" ] && [ "$code" = "$image" ] \
        || { echo "lint: Dockerfile ARG VERSION=$image but warren --version is $code" >&2; return 1; }
}
step version_matches
step check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml deploy/compose/*.yaml
step scripts/verify-systemd-unit.sh
step promtool check rules deploy/prometheus/warren-rules.yml
# promtool resolves rule_files relative to the tests file.
step promtool test rules deploy/prometheus/warren-rules.test.yml
# The dashboard's metric names are checked against a live worker by the integration tests
# (DashboardMetrics); here, that it is JSON at all.
step python3 -m json.tool deploy/grafana/warren.json /dev/null
# Every public symbol of the libraries has a doc comment (the DocC reference is made of them);
# the script prints each one without, as path:line.
step python3 scripts/check-doc-comments.py --self-test
step python3 scripts/check-doc-comments.py
# Strict: an unknown field (a typo) fails, as kubectl's server-side validation would.
step kubernetes-validate --strict --quiet deploy/kubernetes/*.yaml
# The DocC article's program is the example `make test` compiles (`make docs` builds the article).
step scripts/check-docs-code.sh
if [ -d .github/workflows ]; then
    shopt -s nullglob
    workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
    [ ${#workflows[@]} -eq 0 ] || step check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}"
fi

shell_files=(.ci/run)
for f in scripts/*.sh scripts/lib/*.sh bench/*.sh; do [ -f "$f" ] && shell_files+=("$f"); done
for f in "${shell_files[@]}"; do
    step bash -n "$f"
done
# The soak (scripts/soak.py, scripts/soaklib/) runs only under `make soak`: at least it must compile.
# compile() writes no __pycache__ into the tree.
for f in scripts/*.py scripts/soaklib/*.py; do
    [ -f "$f" ] && step python3 -c 'import sys; compile(open(sys.argv[1]).read(), sys.argv[1], "exec")' "$f"
done

[ $status = 0 ] && echo "lint: all checks passed" >&2
exit $status
