# Warren: developer entry points. Every target works from a fresh clone on a fresh
# Debian/Ubuntu box as root: scripts/ensure-deps.sh installs what is missing.
#
#   make build      debug build; fails on compiler warnings in Sources/, Tests/, Examples/
#   make examples   build the example packages under Examples/ (same warning check)
#   make run        run `warren worker $(ARGS)`; starts a throwaway broker unless
#                   WARREN_AMQP_URL is set
#   make test       build + swift test against a throwaway broker (unless
#                   WARREN_TEST_AMQP_URL is set), then lint; FILTER=regex narrows the tests
#   make lint       hadolint, compose/workflow schemas, systemd-analyze, kubernetes-validate, bash -n
#   make runtime-test  the image's runtime stage without Docker: static release binary in a
#                   debootstrapped bookworm root with only the runtime packages, run under
#                   chroot as user 10001 against a throwaway broker (root; Debian mirror)
#   make bench      bench/run.sh $(ARGS)
#   make release    optimized build with the Swift runtime linked in statically
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

.PHONY: build examples run test lint runtime-test bench release clean distclean deps

deps:
	scripts/ensure-deps.sh

build: deps
	scripts/check-warnings.sh $(SWIFT) build

examples: deps
	scripts/build-examples.sh

run:
	scripts/run.sh $(ARGS)

test:
	scripts/test.sh

lint:
	scripts/lint.sh

runtime-test:
	scripts/runtime-test.sh

bench:
	bench/run.sh $(ARGS)

release: deps
	$(SWIFT) build -c release --static-swift-stdlib

clean:
	$(SWIFT) package clean

distclean:
	rm -rf .build Examples/*/.build
