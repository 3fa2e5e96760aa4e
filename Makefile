# Warren: developer entry points. Every target works from a fresh clone on a fresh
# Debian/Ubuntu box as root: scripts/ensure-deps.sh installs what is missing.
#
#   make build      debug build; fails on compiler warnings in Sources/, Tests/, Examples/
#   make examples   build the example packages under Examples/ (same warning check)
#   make docs       the DocC documentation of Warren (Sources/Warren/Warren.docc and the doc
#                   comments) and WarrenAMQP into .build/docs/<Module>.doccarchive; any DocC
#                   warning (a broken symbol link) fails it
#   make run        run `warren worker $(ARGS)`; starts a throwaway broker unless
#                   WARREN_AMQP_URL is set
#   make test       build + swift test against a throwaway broker (unless
#                   WARREN_TEST_AMQP_URL is set), then lint; FILTER=regex narrows the tests
#   make lint       hadolint, compose/workflow schemas, systemd-analyze, kubernetes-validate,
#                   promtool (alert rules checked and unit-tested), bash -n, and a doc comment on
#                   every public symbol of the libraries (scripts/check-doc-comments.py)
#   make fuzz       libFuzzer targets (fuzz/: AMQP URL, field tables, settings, traceparent, YAML), each for
#                   FUZZ_SECONDS (default 300); FUZZ_TARGETS="amqp-url settings" narrows them. New
#                   inputs are kept in .build-fuzz/corpus/, a crash's input in .build-fuzz/crash-*
#   make fuzz-smoke the same targets for FUZZ_RUNS inputs each (default 20000) from the seeds in
#                   fuzz/corpus/: a bounded check (scripts/fuzz.sh builds them with swiftc alone,
#                   cached in .build-fuzz/)
#   make runtime-test  the image's runtime stage without Docker: static release binary in a
#                   debootstrapped bookworm root with only the runtime packages, run under
#                   chroot as user 10001 against a throwaway broker (root; Debian mirror)
#   make bench      bench/run.sh $(ARGS)
#   make soak       chaos soak (not part of `make test`): scripts/soak.py $(ARGS) pushes 100,000
#                   messages (SOAK_MESSAGES) through 3 workers on a throwaway broker while it
#                   kills, restarts, force-closes connections, restarts the broker and raises a
#                   memory alarm; exits non-zero if a message is lost or dead-lettered for an
#                   infrastructure reason, or a worker stalls, hangs or overruns its drain.
#                   ARGS=--slice: 3,000 messages, one fault of each kind (~1 min). Builds the
#                   debug binary unless SOAK_BINARY names one (e.g. .build/release/warren)
#   make release    optimized build with the Swift runtime linked in statically, as the image
#                   ships it (scripts/release-build.sh: its link flags keep the RSS down)
#   make clean      remove build products (make distclean: also fetched packages)

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

# The toolchain is not always on PATH (CI runs with a plain environment).
ifeq ($(shell command -v swift),)
export PATH := /opt/swift/usr/bin:$(PATH)
endif

SWIFT ?= swift
ARGS ?=
FILTER ?=
export FILTER
FUZZ_TARGETS ?=
export FUZZ_SECONDS FUZZ_RUNS FUZZ_OPT FUZZ_SEED

.PHONY: build examples docs run test lint fuzz fuzz-smoke runtime-test bench soak release clean distclean deps

deps:
	scripts/ensure-deps.sh

build: deps
	scripts/check-warnings.sh $(SWIFT) build

examples: deps
	scripts/build-examples.sh

docs: deps
	scripts/docs.sh

run:
	scripts/run.sh $(ARGS)

test:
	scripts/test.sh

lint:
	scripts/lint.sh

fuzz: deps
	scripts/fuzz.sh run $(FUZZ_TARGETS)

fuzz-smoke: deps
	scripts/fuzz.sh smoke $(FUZZ_TARGETS)

runtime-test:
	scripts/runtime-test.sh

bench:
	bench/run.sh $(ARGS)

soak: deps
	[ -n "$${SOAK_BINARY:-}" ] || $(SWIFT) build --product warren
	scripts/soak.py $(ARGS)

release: deps
	SWIFT=$(SWIFT) scripts/release-build.sh

clean:
	$(SWIFT) package clean

distclean:
	rm -rf .build .build-fuzz Examples/*/.build
