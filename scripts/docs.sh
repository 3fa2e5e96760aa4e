#!/usr/bin/env bash
# `make docs`: the DocC documentation of the `Warren` library (its catalog is
# Sources/Warren/Warren.docc: the articles, and the doc comments of every public symbol), built
# with swift-docc-plugin into .build/docs (a static site: serve the folder, open
# /documentation/warren/). Any DocC warning fails it: a broken ``symbol`` or <doc:article> link,
# a parameter documented that does not exist or one left undocumented.
#
# DOCS_OUTPUT=DIR writes elsewhere. Offline: the plugin comes from the package mirror like every
# dependency, and docc ships with the toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null 2>&1 || PATH=/opt/swift/usr/bin:$PATH

output=${DOCS_OUTPUT:-.build/docs}
# --disable-sandbox: the plugin runs docc, which writes outside the plugin's own work folder.
swift package --disable-sandbox --allow-writing-to-directory "$output" \
    generate-documentation --target Warren --warnings-as-errors --output-path "$output"
echo "docs: built into $output (open $output/documentation/warren/index.html through a web server)" >&2
