#!/usr/bin/env bash
# `make lint`: the code of the DocC article "Getting started" must be the program that
# `make test` builds (Examples/OrderWorker's GettingStarted target), so the article cannot show
# code that no longer compiles. Compares the article's first ```swift block after the heading
# "## The program" with the example file, and prints the difference when they disagree.
#
# (DocC snippets would do the same through the plugin's snippet-extract, but they are built only
# by `swift package generate-documentation`, while the examples are already built, warnings
# checked, by every `make test`; an example is also a program a reader can run as it is.)
set -euo pipefail
cd "$(dirname "$0")/.."

article=Sources/Warren/Warren.docc/GettingStarted.md
example=Examples/OrderWorker/Sources/GettingStarted/GettingStarted.swift

block=$(awk '
    /^## The program$/ { section = 1; next }
    section && !inside && /^```swift$/ { inside = 1; next }
    inside && /^```$/ { exit }
    inside { print }
' "$article")
if [ -z "$block" ]; then
    echo "check-docs-code: no \`\`\`swift block under '## The program' in $article" >&2
    exit 1
fi
if ! diff -u --label "$example" --label "$article (the code block under '## The program')" \
        "$example" <(printf '%s\n' "$block") >&2; then
    echo "check-docs-code: $article shows other code than $example: copy the example into the article" >&2
    exit 1
fi
lines=$(wc -l <"$example")
if [ "$lines" -ge 30 ]; then
    echo "check-docs-code: $example has $lines lines; the article promises a handler in under 30" >&2
    exit 1
fi
