# syntax=docker/dockerfile:1
#
# Warren worker image. Build:  docker build -t warren .
# Run:    docker run --rm -e WARREN_AMQP_URL=amqp://user:pass@host:5672/ warren
# (or `docker compose up`, see docker-compose.yml).

# ---- build stage -------------------------------------------------------------------
# Same Swift release as the development toolchain (6.3.1), on the same Debian release as
# the runtime stage so that librabbitmq's ABI matches.
FROM swift:6.3.1-bookworm AS builder

# librabbitmq headers for the CRabbitMQ system-library target; pkg-config finds them.
# Versions are not pinned: Debian replaces point releases (security fixes) on its
# mirrors, and a pinned version that disappeared would break the build.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends librabbitmq-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build

# The manifest alone first: fetching dependencies then stays cached until it changes.
COPY Package.swift ./
RUN swift package resolve

# Everything else the build needs; .dockerignore keeps build output, git and docs out.
# (All of it, not just Sources/: SwiftPM checks every target folder the manifest names.)
COPY . .
# scripts/release-build.sh: release, Swift runtime linked statically, and the link flags that
# keep the worker's RSS down (lld, packed relocations, no exported symbols, hot code together).
RUN scripts/release-build.sh --product warren \
    && install -D -m 0755 "$(scripts/release-build.sh --show-bin-path)/warren" /out/warren

# ---- runtime stage -----------------------------------------------------------------
# With the Swift runtime linked in statically, the binary needs only librabbitmq (and
# through it libssl), libstdc++/libgcc and libc, all from Debian.
FROM debian:bookworm-slim

# OCI annotations. VERSION defaults to the version `warren --version` prints; the others
# come from whoever builds (the GitHub workflow passes the commit, the repository and the
# time). No licenses label: the repository does not state a licence yet.
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=""
ARG CREATED=""
LABEL org.opencontainers.image.title="warren" \
      org.opencontainers.image.description="RabbitMQ queue-consumer service written in Swift" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim"

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends librabbitmq4 ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin warren

COPY --from=builder /out/warren /usr/local/bin/warren

# Numeric, so that orchestrators can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001

# The worker drains in-flight messages on SIGTERM; give it time (compose:
# stop_grace_period, Kubernetes: terminationGracePeriodSeconds).
STOPSIGNAL SIGTERM

# Readiness: healthy only while connected and consuming (needs no curl in the image).
# The port follows WARREN_HTTP_PORT when it is set.
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["warren", "healthcheck"]

ENTRYPOINT ["warren"]
CMD ["worker"]
