#!/usr/bin/env bash
# Builds every example package under Examples/ (debug), failing on compiler warnings in
# the project's own code, and prints `NAME=PATH` for each built executable.
#
#   scripts/build-examples.sh            build all examples
#   scripts/build-examples.sh OrderWorker  build one
#
# Each example is a package of its own that depends on Warren by path, exactly as a user's
# package would, so each has its own .build/ inside its directory (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null 2>&1 || PATH=/opt/swift/usr/bin:$PATH

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for dir in Examples/*/; do
        [ -f "$dir/Package.swift" ] && names+=("$(basename "$dir")")
    done
fi

for name in "${names[@]}"; do
    echo "build-examples: building Examples/$name" >&2
    # Progress to stderr: stdout carries only the NAME=PATH lines.
    scripts/check-warnings.sh swift build --package-path "Examples/$name" >&2
    bin=$(swift build --package-path "Examples/$name" --show-bin-path)
    [ -x "$bin/$name" ] || { echo "build-examples: Examples/$name built no executable named $name" >&2; exit 1; }
    echo "$name=$bin/$name"
done
