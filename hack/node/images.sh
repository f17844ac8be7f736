#!/usr/bin/env bash
# Image recipes for the test node (hack/node.sh). There is no image registry: both images are
# made from local files and loaded with `docker import`; pods use imagePullPolicy Never or IfNotPresent.
#
#   hack/node/images.sh load DOCKER_SOCKET PAUSE_C    build (or reuse cached) tarballs and import them
#
# Images (names without a registry host on purpose):
#   failover-demo/pause:local     the pod sandbox ("infra") image: Kubernetes' own pause.c, compiled
#                                 statically with gcc; ENTRYPOINT ["/pause"]
#   failover-demo/busybox:local   the app image: Debian's busybox-static, its applet symlinks,
#                                 /etc/passwd, /etc/group and a 1777 /tmp; CMD ["/bin/sh"]
#   failover-demo/agent:local     busybox-static + /usr/local/bin/failover-agent (Native AOT) and the
#                                 glibc/OpenSSL libraries it loads (hack/agent-image.sh rootfs);
#                                 ENTRYPOINT ["/usr/local/bin/failover-agent"]. AGENT_IMAGE=none skips it.
#
# Tarballs are cached in ${FAILOVER_CACHE_DIR:-~/.cache/failover-operator}/node-images, keyed by
# their inputs (pause.c, gcc version, busybox-static version, this file; the agent: the hash of its
# sources, the SDK version and hack/agent-image.sh, so a changed agent is republished, an unchanged
# one never). A first build of the agent takes 3-8 minutes (Native AOT).
set -euo pipefail

PAUSE_IMAGE=${PAUSE_IMAGE:-failover-demo/pause:local}
AGENT_IMAGE=${AGENT_IMAGE:-failover-demo/agent:local}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
APP_IMAGE=${APP_IMAGE:-failover-demo/busybox:local}
CACHE_ROOT=${FAILOVER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/failover-operator}
IMAGE_CACHE=$CACHE_ROOT/node-images
DOCKER=/usr/bin/docker   # the Debian 20.10 client; a newer one may come first in PATH
SELF=${BASH_SOURCE[0]}

die() { echo "node images: error: $*" >&2; exit 1; }

key() { { cat "$SELF"; "$@"; } | sha256sum | cut -c1-16; }

# Reproducible tar of a directory, owned by root.
tar_dir() { tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$1" -cf "$2" .; }

pause_tar() { # pause.c -> path of the cached tarball
  local src=$1 k out work
  [ -f "$src" ] || die "pause.c not found at $src"
  k=$(key sh -c 'cat "$1"; gcc --version' _ "$src")
  out=$IMAGE_CACHE/pause-$k.tar
  if [ ! -s "$out" ]; then
    work=$(mktemp -d)
    mkdir -p "$work/root"
    gcc -Os -Wall -Werror -static -DVERSION=v3.2-failover-operator -o "$work/root/pause" "$src" \
      || { rm -rf "$work"; die "static build of pause.c failed (are gcc and libc6-dev installed?)"; }
    strip "$work/root/pause"
    tar_dir "$work/root" "$work/pause.tar"
    mkdir -p "$IMAGE_CACHE"; mv -f "$work/pause.tar" "$out"; rm -rf "$work"
  fi
  echo "$out"
}

busybox_tar() { # -> path of the cached tarball
  local k out work r a
  if ! [ -x /bin/busybox ] || ! /bin/busybox --list >/dev/null 2>&1; then die "/bin/busybox missing (install busybox-static)"; fi
  ldd /bin/busybox >/dev/null 2>&1 && die "/bin/busybox is dynamically linked; install busybox-static"
  k=$(key sh -c 'dpkg-query -W -f="\${Version}" busybox-static; sha256sum /bin/busybox')
  out=$IMAGE_CACHE/busybox-$k.tar
  if [ ! -s "$out" ]; then
    work=$(mktemp -d); r=$work/root
    mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root" "$r/proc" "$r/sys" "$r/dev"
    cp /bin/busybox "$r/bin/busybox"
    for a in $("$r/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"; done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
    chmod 1777 "$r/tmp"; chmod 0700 "$r/root"
    tar_dir "$r" "$work/busybox.tar"
    mkdir -p "$IMAGE_CACHE"; mv -f "$work/busybox.tar" "$out"; rm -rf "$work"
  fi
  echo "$out"
}

agent_tar() { # -> path of the cached tarball
  local k out tmp
  k=$(key sh -c '"$1" source-key; dpkg-query -W -f="\${Version}" busybox-static' _ "$REPO_ROOT/hack/agent-image.sh")
  out=$IMAGE_CACHE/agent-$k.tar
  mkdir -p "$IMAGE_CACHE"
  # One build per key at a time (two node runs on one cache would otherwise both publish).
  exec 9>"$IMAGE_CACHE/agent-$k.lock"
  flock 9
  if [ ! -s "$out" ]; then
    echo "node images: publishing failover-agent (Native AOT; first build of these sources)" >&2
    tmp=$out.tmp.$$
    "$REPO_ROOT/hack/agent-image.sh" rootfs "$tmp" >&2 || { rm -f "$tmp"; die "building the agent image failed"; }
    mv -f "$tmp" "$out"
    # Each change of the agent's sources adds a 31 MB tarball: keep the newest three.
    ls -t "$IMAGE_CACHE"/agent-*.tar 2>/dev/null | tail -n +4 | while read -r old; do rm -f "$old" "${old%.tar}.lock"; done
  fi
  exec 9>&-
  echo "$out"
}

cmd_load() { # socket pause.c
  local sock=$1 pause_c=$2 d
  d=("$DOCKER" -H "unix://$sock")
  local p b
  p=$(pause_tar "$pause_c"); b=$(busybox_tar)
  "${d[@]}" import --change 'ENTRYPOINT ["/pause"]' "$p" "$PAUSE_IMAGE" >/dev/null \
    || die "docker import of $p failed"
  "${d[@]}" import --change 'CMD ["/bin/sh"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$b" "$APP_IMAGE" >/dev/null || die "docker import of $b failed"
  if [ "$AGENT_IMAGE" != none ]; then
    local a
    a=$(agent_tar)
    "${d[@]}" import --change 'ENTRYPOINT ["/usr/local/bin/failover-agent"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      "$a" "$AGENT_IMAGE" >/dev/null || die "docker import of $a failed"
  fi
}

case "${1:-}" in
  load) shift; [ $# -eq 2 ] || die "usage: $0 load DOCKER_SOCKET PAUSE_C"; cmd_load "$@" ;;
  *) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 2 ;;
esac
