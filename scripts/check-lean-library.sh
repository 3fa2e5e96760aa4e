#!/usr/bin/env bash
# Keeps the `Warren` library product lean (`make lint`): a program that embeds the consumer
# must not build an HTTP server, Prometheus or SwiftNIO (those are WarrenHosting's). Walks the
# targets the product is made of, through their target and product dependencies into the
# dependency packages' manifests (`swift package dump-package`, offline), and fails naming the
# path to any target of a forbidden package.
#
#   scripts/check-lean-library.sh               check the `Warren` product
#   scripts/check-lean-library.sh PRODUCT       check another product of this package
#
# Conservative: a dependency with a platform condition counts as if it applied everywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null 2>&1 || PATH=/opt/swift/usr/bin:$PATH

product=${1:-Warren}
# Package identities whose targets the product must not reach.
forbidden="hummingbird swift-prometheus swift-nio"

# The dependency packages' checkouts (resolving is offline here: the packages are mirrored).
# Its progress lines would bury the verdict in `make lint`: shown only when it fails.
if [ ! -f .build/workspace-state.json ]; then
    resolve_log=$(mktemp)
    swift package resolve >"$resolve_log" 2>&1 || { cat "$resolve_log" >&2; rm -f "$resolve_log"; exit 1; }
    rm -f "$resolve_log"
fi

PRODUCT=$product FORBIDDEN=$forbidden python3 - <<'EOF'
import json, os, subprocess, sys

product, forbidden = os.environ["PRODUCT"], set(os.environ["FORBIDDEN"].split())

state = json.load(open(".build/workspace-state.json"))
checkouts = {}
for dep in state["object"]["dependencies"]:
    ref = dep["packageRef"]
    kind = dep["state"]["name"]
    if kind == "fileSystem":  # a path dependency: its directory is its location
        path = dep["state"].get("path") or ref["location"]
    elif kind == "edited":
        path = dep["state"].get("path") or os.path.join(".build/checkouts", dep["subpath"])
    else:
        path = os.path.join(".build/checkouts", dep["subpath"])
    checkouts[ref["identity"].lower()] = path

manifests = {}
def manifest(identity):
    """dump-package of the root package (identity None) or of a dependency."""
    if identity not in manifests:
        path = "." if identity is None else checkouts[identity]
        out = subprocess.run(["swift", "package", "--package-path", path, "dump-package"],
                             check=True, capture_output=True, text=True).stdout
        manifests[identity] = json.loads(out)
    return manifests[identity]

def dependency_identities(identity):
    """Identities of the packages a package depends on, keyed by every name it may use for them."""
    names = {}
    for dep in manifest(identity)["dependencies"]:
        (kind, [info]), = dep.items()
        ident = info["identity"].lower()
        names[ident] = ident
        if info.get("nameForTargetDependencyResolutionOnly"):
            names[info["nameForTargetDependencyResolutionOnly"].lower()] = ident
    return names

def product_targets(identity, name):
    for p in manifest(identity)["products"]:
        if p["name"] == name:
            return p["targets"]
    raise SystemExit(f"check-lean-library: no product {name} in {identity or 'this package'}")

seen, queue, via = set(), [], {}
for t in product_targets(None, product):
    queue.append((None, t)); via[(None, t)] = None

def add(node, parent):
    if node not in via:
        via[node] = parent
        queue.append(node)

while queue:
    node = queue.pop()
    if node in seen:
        continue
    seen.add(node)
    identity, target = node
    m = manifest(identity)
    spec = next((t for t in m["targets"] if t["name"] == target), None)
    if spec is None:
        raise SystemExit(f"check-lean-library: no target {target} in {identity or 'this package'}")
    deps = dependency_identities(identity)
    local = {t["name"] for t in m["targets"]}
    for dep in spec["dependencies"]:
        (kind, info), = dep.items()
        name = info[0]
        if kind == "target" or (kind == "byName" and name in local):
            add((identity, name), node)
        elif kind == "product":
            package = deps[(info[1] or name).lower()]
            if package not in checkouts:
                continue  # not resolved, so not built: a dependency under a trait that is off
            for t in product_targets(package, name):
                add((package, t), node)
        else:  # byName naming a product of a dependency package: find which one has it
            for package in set(deps.values()) & set(checkouts):
                if any(p["name"] == name for p in manifest(package)["products"]):
                    for t in product_targets(package, name):
                        add((package, t), node)

bad = sorted(n for n in seen if n[0] in forbidden)
# Name the way in (a forbidden target reached from an allowed one); the rest follow from those.
for node in (n for n in bad if via[n] is None or via[n][0] not in forbidden):
    chain, n = [], node
    while n is not None:
        chain.append(f"{n[1]} ({n[0] or 'Warren'})"); n = via[n]
    print("check-lean-library: product " + product + " reaches " + " <- ".join(chain), file=sys.stderr)
if bad:
    print(f"check-lean-library: {len(bad)} targets of forbidden packages in all", file=sys.stderr)
    print(f"check-lean-library: FAILED: move what needs {', '.join(sorted({n[0] for n in bad}))} to WarrenHosting", file=sys.stderr)
    sys.exit(1)
packages = sorted({n[0] or "Warren" for n in seen})
print(f"check-lean-library: product {product} builds {len(seen)} targets from {', '.join(packages)}", file=sys.stderr)
EOF
