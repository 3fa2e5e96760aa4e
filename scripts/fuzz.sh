#!/usr/bin/env bash
# libFuzzer targets for Warren's parsers (fuzz/*.swift), built with the toolchain's swiftc
# directly: each target compiles only the few sources it needs, so nothing pulls in
# Hummingbird or NIO; a build from nothing takes about a minute of CPU, then only what changed
# is rebuilt.
#
#   scripts/fuzz.sh build [TARGET...]   build into .build-fuzz/O/bin/fuzz-TARGET
#   scripts/fuzz.sh smoke [TARGET...]   each target runs FUZZ_RUNS inputs (default 20000),
#                                       starting from its seed corpus fuzz/corpus/TARGET, with
#                                       libFuzzer's seed FUZZ_SEED (default 1)
#   scripts/fuzz.sh run [TARGET...]     each target runs FUZZ_SECONDS (default 300); inputs
#                                       that reach new code are kept in .build-fuzz/corpus/TARGET
#   scripts/fuzz.sh list                the targets
#
# FUZZ_OPT sets the instrumented code's optimization (default -O), built into .build-fuzz/O
# (.build-fuzz/Onone for -Onone).
#
# Targets (fuzz/<Name>Fuzz.swift; what each one asserts is in its header comment):
#   amqp-url     AMQPURL parsing and redaction
#   field-table  AMQPTable <-> librabbitmq amqp_table_t <-> wire bytes, both ways
#   settings     SettingsResolver, durations, retry delays, WorkerConfiguration
#   traceparent  TraceHeaders (swift-w3c-trace-context) from header values and tables
#   yaml         YAMLSettings (the configuration file's YAML subset) on raw bytes
#
# Code under test (Warren's sources, swift-w3c-trace-context) is instrumented with
# -sanitize=fuzzer,address; the other package dependencies (swift-log, swift-collections,
# swift-distributed-tracing) are compiled plain from checkouts in .build-fuzz/src, at the
# versions Package.resolved names (or the pins below when there is none), and cached.
# A crash leaves its input as .build-fuzz/crash-*: rerun it with `.build-fuzz/O/bin/fuzz-TARGET FILE`,
# then turn it into a unit test in Tests/ (see the README's testing section).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swiftc >/dev/null 2>&1 || PATH=/opt/swift/usr/bin:$PATH

out=.build-fuzz
targets=(amqp-url field-table settings traceparent yaml)
command=${1:-}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] || set -- "${targets[@]}"
# -Onone compiles the instrumented code in half the time but runs it 2-6 times slower, which
# costs a smoke run more than it saves. Each level has its own build directory.
opt=${FUZZ_OPT:--O}
build=$out/${opt#-}
# The Swift runtime's backtracer would hold a crashing target for a long time; libFuzzer's and
# ASan's own reports say enough.
export SWIFT_BACKTRACE=enable=no

log() { echo "fuzz: $*" >&2; }

# --- dependencies ---------------------------------------------------------------------------

# The version of a package in Package.resolved, else $2.
pinned() {
    local version=""
    [ -f Package.resolved ] && version=$(python3 -c '
import json, sys
pins = json.load(open("Package.resolved"))["pins"]
print(next((p["state"].get("version", "") for p in pins if p["identity"] == sys.argv[1]), ""))' "$1")
    echo "${version:-$2}"
}

# checkout OWNER/NAME DEFAULT_VERSION: prints the checkout's directory.
checkout() {
    local name=${1#*/} version dir
    version=$(pinned "$name" "$2")
    dir=$out/src/$name-$version
    if [ ! -d "$dir" ]; then
        log "checking out $1 $version"
        git -c advice.detachedHead=false clone -q --branch "$version" "https://github.com/$1" "$dir.tmp"
        mv "$dir.tmp" "$dir"
    fi
    echo "$dir"
}

# Whether $1 is missing or older than any of the other files.
stale() {
    local product=$1
    shift
    [ -e "$product" ] || return 0
    [ -n "$(find "$@" -newer "$product" -print -quit)" ]
}

# module NAME "IMPORTS" [swiftc flags...] -- SOURCES...: a static library and its module,
# rebuilt when a source, one of the IMPORTS (module names built here) or the flags changed.
module() {
    local name=$1 imports=$2
    shift 2
    local flags=() sources=() inputs=() import
    while [ "$1" != -- ]; do flags+=("$1"); shift; done
    shift
    sources=("$@")
    for import in $imports; do inputs+=("$build/modules/$import.swiftmodule"); done
    mkdir -p "$build/lib" "$build/modules"
    local lib=$build/lib/lib$name.a stamp=$build/lib/$name.flags
    local wanted="${flags[*]} ${sources[*]}"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && ! stale "$lib" "${sources[@]}" "${inputs[@]}"; then
        return
    fi
    log "compiling $name (${#sources[@]} files)"
    swiftc -wmo -parse-as-library -swift-version 6 -I "$build/modules" "${flags[@]}" \
        -module-name "$name" -emit-module -emit-module-path "$build/modules/$name.swiftmodule" \
        -emit-library -static -o "$lib" "${sources[@]}"
    echo "$wanted" >"$stamp"
}

# The Swift files under a directory, into the array `files` (some names have spaces).
swift_files() { mapfile -t files < <(find "$1" -name '*.swift' | LC_ALL=C sort); }

instrumented=(-sanitize=fuzzer,address "$opt")

# Everything every target links: swift-log (WarrenAMQP logs) and WarrenAMQP itself.
build_common() {
    local log_dir files
    log_dir=$(checkout apple/swift-log 1.16.2)
    swift_files "$log_dir/Sources/Logging"
    module Logging "" -Onone -suppress-warnings -package-name swift_log \
        -enable-upcoming-feature ExistentialAny -enable-upcoming-feature MemberImportVisibility \
        -enable-upcoming-feature InternalImportsByDefault -enable-upcoming-feature NonisolatedNonsendingByDefault \
        -- "${files[@]}"
    # -enable-testing: the field-table target reaches CArena and the C conversions.
    swift_files Sources/WarrenAMQP
    module WarrenAMQP Logging "${instrumented[@]}" -enable-testing -package-name warren -I Sources/CRabbitMQ \
        -- "${files[@]}"
}

build_tracing_deps() {
    local collections w3c tracing files
    collections=$(checkout apple/swift-collections 1.6.0)
    w3c=$(checkout swift-otel/swift-w3c-trace-context 1.0.0)
    tracing=$(checkout apple/swift-distributed-tracing 1.7.3)
    # swift-collections' own settings (Package.swift); the availability macros only matter
    # on Apple platforms.
    local collection_flags=(-Onone -suppress-warnings -package-name swift_collections -DCOLLECTIONS_RANDOMIZED_TESTING
        -enable-upcoming-feature MemberImportVisibility -enable-experimental-feature BuiltinModule
        -enable-experimental-feature Lifetimes -enable-experimental-feature InoutLifetimeDependence
        -enable-experimental-feature AddressableParameters -enable-experimental-feature AddressableTypes
        -enable-experimental-feature SuppressedAssociatedTypesWithDefaults)
    local version
    for version in 5.0 5.1 5.6 5.7 5.8 5.9 5.10 6.0 6.1 6.2 6.3 6.4 6.5; do
        collection_flags+=(-enable-experimental-feature "AvailabilityMacro=SwiftStdlib $version: macOS 9999")
    done
    swift_files "$collections/Sources/InternalCollectionsUtilities"
    module InternalCollectionsUtilities "" "${collection_flags[@]}" \
        -- "${files[@]}"
    swift_files "$collections/Sources/OrderedCollections"
    module OrderedCollections InternalCollectionsUtilities "${collection_flags[@]}" \
        -- "${files[@]}"
    swift_files "$w3c/Sources/W3CTraceContext"
    module W3CTraceContext OrderedCollections "${instrumented[@]}" -suppress-warnings -package-name swift_w3c_trace_context \
        -enable-upcoming-feature ExistentialAny -enable-upcoming-feature MemberImportVisibility \
        -enable-upcoming-feature InternalImportsByDefault -enable-upcoming-feature NonisolatedNonsendingByDefault \
        -enable-experimental-feature Lifetimes \
        -- "${files[@]}"
    local tracing_flags=(-Onone -suppress-warnings -package-name swift_distributed_tracing -strict-concurrency=complete)
    swift_files "$tracing/Sources/Instrumentation"
    module Instrumentation "" "${tracing_flags[@]}" -- "${files[@]}"
    swift_files "$tracing/Sources/ServiceContextModule"
    module ServiceContextModule Instrumentation "${tracing_flags[@]}" -- "${files[@]}"
    swift_files "$tracing/Sources/Tracing"
    module Tracing "Instrumentation ServiceContextModule" "${tracing_flags[@]}" -- "${files[@]}"
}

# The Warren sources each target needs, compiled as a module of their own (they import
# WarrenAMQP, Logging... but not each other's module, so any module name works).
settings_sources=(
    Sources/Warren/Configuration/*.swift
    Sources/Warren/Retry/RetryPolicy.swift Sources/Warren/Retry/PermanentError.swift Sources/Warren/Retry/PermanentErrorCheck.swift Sources/Warren/Retry/PerTypeCache.swift
    Sources/Warren/Handling/JSONMessageDecoding.swift Sources/Warren/Handling/UTF8Validation.swift
    Sources/Warren/Consumer/Topology.swift Sources/Warren/Consumer/QueueBinding.swift Sources/Warren/Logging/LogFormat.swift
    Sources/Warren/Supervision/Backoff.swift
    Sources/Warren/Scheduling/ScheduledJobSetting.swift Sources/Warren/Scheduling/JobSchedule.swift
    Sources/Warren/Scheduling/JobScheduleError.swift Sources/Warren/Scheduling/CronExpression.swift
    Sources/Warren/Scheduling/CronField.swift Sources/Warren/Scheduling/CivilTime.swift
    Sources/Warren/Scheduling/MissedTickPolicy.swift
)
traceparent_sources=(Sources/Warren/Tracing/TraceHeaders.swift Sources/Warren/Tracing/AMQPHeaderPropagation.swift)
yaml_sources=(Sources/WarrenCLI/YAML*.swift Sources/WarrenCLI/JSONValue.swift)

# link TARGET MAIN_SOURCE MODULES...: the fuzzer executable.
link() {
    local target=$1 main=$2
    shift 2
    local bin=$build/bin/fuzz-$target libs=("$@") lib archives=()
    local sources=("$main" fuzz/FuzzInput.swift fuzz/FuzzCheck.swift)
    for lib in "${libs[@]}"; do archives+=("$build/lib/lib$lib.a"); done
    mkdir -p "$build/bin"
    if ! stale "$bin" "${sources[@]}" "${archives[@]}"; then return; fi
    log "linking fuzz-$target"
    # lld: gold warns about every ASan helper symbol. ssl/crypto: the CRabbitMQ TLS shim calls OpenSSL.
    swiftc -parse-as-library -swift-version 6 "${instrumented[@]}" -use-ld=lld -I "$build/modules" -I Sources/CRabbitMQ \
        "${sources[@]}" -L "$build/lib" "${libs[@]/#/-l}" -lrabbitmq -lssl -lcrypto -o "$bin"
}

build() {
    local target tracing_deps=""
    for target in "$@"; do
        [[ " ${targets[*]} " == *" $target "* ]] || { log "unknown target '$target' (scripts/fuzz.sh list)"; exit 2; }
    done
    # traceparent's dependencies share nothing with the rest: build them alongside, on the
    # second core.
    if [[ " $* " == *" traceparent "* ]]; then
        build_tracing_deps &
        tracing_deps=$!
    fi
    build_common
    for target in "$@"; do
        case $target in
        amqp-url) link amqp-url fuzz/AMQPURLFuzz.swift WarrenAMQP Logging ;;
        field-table) link field-table fuzz/FieldTableFuzz.swift WarrenAMQP Logging ;;
        settings)
            module WarrenSettings "WarrenAMQP Logging" "${instrumented[@]}" -enable-testing -package-name warren -I Sources/CRabbitMQ \
                -- "${settings_sources[@]}"
            link settings fuzz/SettingsFuzz.swift WarrenSettings WarrenAMQP Logging
            ;;
        yaml)
            module WarrenYAML "" "${instrumented[@]}" -enable-testing -- "${yaml_sources[@]}"
            link yaml fuzz/YAMLFuzz.swift WarrenYAML
            ;;
        traceparent)
            wait "$tracing_deps"
            module WarrenTracing "WarrenAMQP W3CTraceContext Tracing" "${instrumented[@]}" -package-name warren -I Sources/CRabbitMQ \
                -- "${traceparent_sources[@]}"
            link traceparent fuzz/TraceParentFuzz.swift WarrenTracing WarrenAMQP Logging W3CTraceContext \
                OrderedCollections InternalCollectionsUtilities Tracing ServiceContextModule Instrumentation
            ;;
        esac
    done
}

# fuzz TARGET LIBFUZZER_ARGS...: runs a target from its seeds and prints libFuzzer's summary;
# on a crash, the whole report.
fuzz() {
    local target=$1
    shift
    local corpus=$out/corpus/$target report=$out/$target.log status=0
    mkdir -p "$corpus"
    # New inputs go to the first directory (gitignored); the committed seeds are only read.
    "$build/bin/fuzz-$target" -artifact_prefix="$out/" -print_final_stats=1 "$@" "$corpus" "fuzz/corpus/$target" \
        >"$report" 2>&1 || status=$?
    if [ "$status" != 0 ]; then
        grep -v '^INFO:\|^#[0-9]' "$report" | tail -n 60 >&2
        log "$target FAILED (exit $status); full output in $report"
        return "$status"
    fi
    awk -v target="$target" '
        /^stat::number_of_executed_units/ { runs = $2 }
        /^stat::average_exec_per_sec/ { speed = $2 }
        /^stat::new_units_added/ { added = $2 }
        /^#[0-9]+/ && /cov:/ { for (i = 1; i < NF; i++) if ($i == "cov:") cov = $(i + 1) }
        END { printf "fuzz: %-12s %8d runs  %6d/s  coverage %s  new inputs %d\n", target, runs, speed, cov, added }
    ' "$report" >&2
}

case $command in
build) build "$@" ;;
smoke)
    build "$@"
    failed=0
    # A fixed seed: the smoke is part of `make test`, so the same commit must pass or fail the
    # same way every time; `run` explores with fresh seeds.
    for target in "$@"; do fuzz "$target" -runs="${FUZZ_RUNS:-20000}" -seed="${FUZZ_SEED:-1}" || failed=1; done
    exit "$failed"
    ;;
run)
    build "$@"
    failed=0
    for target in "$@"; do fuzz "$target" -max_total_time="${FUZZ_SECONDS:-300}" || failed=1; done
    exit "$failed"
    ;;
list) printf '%s\n' "${targets[@]}" ;;
*) sed -n '2,/^set -e/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
