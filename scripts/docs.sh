#!/usr/bin/env bash
# `make docs`: the DocC documentation of the `Warren` library (its catalog is
# Sources/Warren/Warren.docc: the articles, and the doc comments of every public symbol) and of
# the AMQP layer `WarrenAMQP` and the hosting library `WarrenHosting` (doc comments only), built with swift-docc-plugin into .build/docs,
# one static site per target: serve .build/docs/Warren.doccarchive and open
# /documentation/warren/. Any DocC warning fails it: a broken ``symbol`` or <doc:article> link,
# a parameter documented that does not exist or one left undocumented.
#
# DOCS_OUTPUT=DIR writes elsewhere; DOCS_TARGETS="Warren" narrows the targets. Offline: the plugin comes from the package mirror like every
# dependency, and docc ships with the toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null 2>&1 || PATH=/opt/swift/usr/bin:$PATH

output=${DOCS_OUTPUT:-.build/docs}
targets=()
for target in ${DOCS_TARGETS:-Warren WarrenAMQP WarrenHosting}; do targets+=(--target "$target"); done
# --disable-sandbox: the plugin runs docc, which writes outside the plugin's own work folder.
# One archive per target: $output/Warren.doccarchive, WarrenAMQP.doccarchive, WarrenHosting.doccarchive.
swift package --disable-sandbox --allow-writing-to-directory "$output" \
    generate-documentation "${targets[@]}" --warnings-as-errors --output-path "$output"
echo "docs: built into $output (serve $output/Warren.doccarchive, open /documentation/warren/)" >&2
