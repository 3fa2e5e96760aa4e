#!/usr/bin/env bash
# Fails a build that compiled with warnings in the project's own code.
#
#   scripts/check-warnings.sh swift build ...     run the build, show its full output,
#                                                 exit with its status, or 1 if it warned
#   swift build 2>&1 | scripts/check-warnings.sh  the same as a filter (exit status of the
#                                                 build is then the pipeline's business)
#
# Only warnings located in Sources/, Tests/ or Examples/ of the current directory count:
# dependencies under .build/checkouts (also an example's Examples/<name>/.build) are not
# ours to fix. Warnings are printed when a
# file is compiled, so an incremental build only checks what it recompiled; CI builds
# from a clean clone and sees them all.
set -euo pipefail

log=$(mktemp)
trap 'rm -f "$log"' EXIT

if [ $# -gt 0 ]; then
    set +e
    "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
else
    tee "$log"
    rc=0
fi

# The compiler prints absolute paths; accept the logical and the physical form of the
# current directory (they differ under symlinks) and relative paths.
ours=$(awk -v a="$(pwd)/" -v b="$(pwd -P)/" '
    / warning: / {
        p = $0
        if (index(p, a) == 1) p = substr(p, length(a) + 1)
        else if (index(p, b) == 1) p = substr(p, length(b) + 1)
        # An example package keeps its dependencies in Examples/<name>/.build: not ours.
        if (p ~ /^(Sources|Tests|Examples)\/[^:]+:[0-9]+(:[0-9]+)?: warning: / && p !~ /^[^:]*\/\.build\//) print
    }' "$log" | sort -u)

if [ "$rc" -ne 0 ]; then
    exit "$rc"
fi
if [ -n "$ours" ]; then
    {
        echo
        echo "check-warnings: the build printed $(wc -l <<<"$ours") warning(s) in the project's own code:"
        echo "$ours"
    } >&2
    exit 1
fi
