#!/usr/bin/env bash
# Builds `warren` as it ships (the Docker image, `make release`, `make runtime-test`, bench/run.sh):
# release, Swift runtime linked statically, and the link flags below. Extra arguments go to
# `swift build` (e.g. `--product warren --scratch-path .build-static`, or `--show-bin-path`).
#
# The link flags keep peak RSS down (issue 17: <= 20 MB). Most of the static binary's RSS is its
# own file pages: the kernel maps whole runs of the executable around every page touched, so the
# RSS follows how widely the code that runs is spread over the file, not how much of it runs.
#   -use-ld=lld                 lld, the toolchain's own linker: gold, the default, has neither
#                               of the next two features.
#   -z pack-relative-relocs     DT_RELR: the PIE's ~100,000 relative relocations take 30 kB
#                               instead of 1.6 MB, all of which the loader read at every start
#                               (glibc >= 2.36: Debian bookworm, the image's runtime stage).
#   --no-export-dynamic         undoes the `-export-dynamic` of the static Swift runtime's link
#                               arguments: it put 23,000 symbols (2.2 MB of symbol table, read by
#                               every symbol lookup) in the dynamic table; nothing resolves them
#                               (no plugins, no dlsym), and crash backtraces read .symtab instead.
#   --symbol-ordering-file      the functions a worker runs (startup, a drain, both failure paths,
#                               the HTTP probes, shutdown; recorded by scripts/release-symbol-order.sh)
#                               placed side by side, so they share pages. lld moves whole input
#                               sections, and a Swift object is one .text section, so in effect
#                               the objects holding those functions come first. One section per
#                               function (-function-sections) gave no consistent gain: LLVM's
#                               unnamed helpers cannot be listed and stay scattered (README,
#                               Benchmark).
#                               A symbol missing from a newer build is skipped silently
#                               (--no-warn-symbol-ordering): the file only ever costs placement,
#                               never correctness.
# Measured on the drain benchmark: 25.2 -> 18.7 MB peak RSS (see README, Benchmark).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SWIFT=${SWIFT:-swift}
exec "$SWIFT" build -c release --static-swift-stdlib \
  -Xswiftc -use-ld=lld \
  -Xlinker -z -Xlinker pack-relative-relocs \
  -Xlinker --no-export-dynamic \
  -Xlinker "--symbol-ordering-file=$ROOT/scripts/release-symbol-order.txt" -Xlinker --no-warn-symbol-ordering \
  "$@"
