#!/usr/bin/env bash
# failover-agent as a Native AOT binary, and a root filesystem for a pod image that carries it.
#
#   hack/agent-image.sh publish [OUT]    install the native toolchain if missing (clang lld zlib1g-dev),
#                                        publish src/FailoverAgent with PublishAot=true into OUT
#                                        (default .local/agent); prints time, size, AOT warnings, ldd
#   hack/agent-image.sh rootfs TAR       publish, then write TAR: busybox-static + the agent + the shared
#                                        libraries it needs, ready for `docker import` (hack/node/images.sh
#                                        builds it through here, cached by a hash of the agent's sources)
#   hack/agent-image.sh source-key       print the hash of everything the published binary is made from
#   hack/agent-image.sh check TAR        run the agent from TAR in a chroot (--help): the libraries suffice
#
# Runtime needs of the binary (ldd, and what it opens at run time): libc.so.6, libm.so.6 and the
# loader; libssl.so.3 and libcrypto.so.3 are opened at run time for TLS to the API server. No ICU
# (InvariantGlobalization), no .NET runtime.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROJECT=$ROOT/src/FailoverAgent
NATIVE_PACKAGES=(clang lld zlib1g-dev)
RUNTIME_LIBS=(libssl.so.3 libcrypto.so.3)   # dlopen'ed, so ldd does not list them

die() { echo "agent-image: error: $*" >&2; exit 1; }
log() { echo "agent-image: $*" >&2; }
# shellcheck source=hack/lib.sh
. "$ROOT/hack/lib.sh"

ensure_toolchain() {
  local missing
  mapfile -t missing < <(missing_packages "${NATIVE_PACKAGES[@]}")
  [ ${#missing[@]} -eq 0 ] && return
  [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}: run as root or apt-get install them"
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The agent's sources, the build settings and this script, plus the SDK version: what the binary
# is made from. Files are hashed by content, so a clean clone and a worktree agree.
cmd_source_key() {
  { (cd "$ROOT" && find src/FailoverAgent -path '*/bin' -prune -o -path '*/obj' -prune -o -type f \
        \( -name '*.cs' -o -name '*.csproj' -o -name '*.json' -o -name '*.props' \) -print | LC_ALL=C sort \
      | while read -r f; do echo "$f"; cat "$f"; done)
    cat "$ROOT/Directory.Build.props" "$ROOT/hack/agent-image.sh"
    dotnet --version
  } | sha256sum | cut -c1-16
}

cmd_publish() { # [out]
  local out=${1:-$ROOT/.local/agent} start warnings src
  ensure_toolchain
  mkdir -p "$out"
  start=$SECONDS
  # Published from a copy of the sources: a Release linux-x64 restore rewrites obj/project.assets.json,
  # which a `dotnet build`/`dotnet test` running at the same time (make test starts the node while
  # its tests run) would read half written.
  src=$(mktemp -d)
  cp "$ROOT/Directory.Build.props" "$src/"
  mkdir -p "$src/src/FailoverAgent"
  tar -C "$PROJECT" --exclude=./bin --exclude=./obj -cf - . | tar -C "$src/src/FailoverAgent" -xf - \
    || { rm -rf "$src"; die "copying the sources failed"; }
  dotnet publish "$src/src/FailoverAgent" -c Release -r linux-x64 -p:PublishAot=true -o "$out" --nologo >"$out/publish.log" 2>&1 \
    || { rm -rf "$src"; cat "$out/publish.log" >&2; die "publish failed"; }
  rm -rf "$src"
  warnings=$(grep -cE 'warning (IL|AOT)[0-9]+' "$out/publish.log" || true)
  log "published in $((SECONDS - start)) s: $out/failover-agent ($(du -h "$out/failover-agent" | cut -f1)), $warnings AOT/trim warnings"
  ldd "$out/failover-agent" >&2
}

lib_path() { # soname -> path on this machine
  ldconfig -p | awk -v n="$1" '$1 == n && /x86-64/ { print $NF; exit }'
}

cmd_rootfs() { # tar
  local tar=${1:?usage: $0 rootfs TAR} out=${AGENT_PUBLISHED:-$ROOT/.local/agent} work r lib path
  [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || die "/bin/busybox must be busybox-static (apt-get install busybox-static)"
  # AGENT_PUBLISHED=DIR: a binary already published from these sources (say, by a CI step before).
  if [ -z "${AGENT_PUBLISHED:-}" ]; then cmd_publish "$out"; fi
  [ -x "$out/failover-agent" ] || die "$out/failover-agent missing"
  work=$(mktemp -d); r=$work/root
  trap "rm -rf '$work'" EXIT
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/usr/local/bin" "$r/lib64" "$r/lib/x86_64-linux-gnu" "$r/proc" "$r/sys" "$r/dev"
  cp /bin/busybox "$r/bin/busybox"
  for a in $("$r/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"; done
  cp "$out/failover-agent" "$r/usr/local/bin/failover-agent"
  # What ldd lists (libc, libm, the loader), and what the agent opens itself (OpenSSL), at the paths the loader looks in.
  for path in $(ldd "$out/failover-agent" | grep -oE '/[^ ]+\.so[^ ]*'); do
    case $path in */ld-linux*) cp -L "$path" "$r/lib64/" ;; *) cp -L "$path" "$r/lib/x86_64-linux-gnu/" ;; esac
  done
  for lib in "${RUNTIME_LIBS[@]}"; do
    path=$(lib_path "$lib"); [ -n "$path" ] || die "$lib not found (apt-get install libssl3)"
    cp -L "$path" "$r/lib/x86_64-linux-gnu/"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
  chmod 1777 "$r/tmp"
  tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$r" -cf "$tar" .
  log "wrote $tar ($(du -h "$tar" | cut -f1)); import with:"
  log "  docker import --change 'ENTRYPOINT [\"/usr/local/bin/failover-agent\"]' $tar failover-demo/agent:local"
}

cmd_check() { # tar
  local tar=${1:?usage: $0 check TAR} work
  work=$(mktemp -d)
  trap "rm -rf '$work'" EXIT
  tar -C "$work" -xf "$tar"
  chroot "$work" /usr/local/bin/failover-agent --help >/dev/null || die "the agent does not start inside $tar"
  log "the agent starts inside $tar"
}

case "${1:-}" in
  publish) shift; cmd_publish "$@" ;;
  rootfs) shift; cmd_rootfs "$@" ;;
  check) shift; cmd_check "$@" ;;
  source-key) shift; cmd_source_key ;;
  *) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 2 ;;
esac
