#!/usr/bin/env bash
# podman for Debian's podman-compose (1.0.3) on the host's network: that podman-compose adds
# `--net PROJECT_default --network-alias SERVICE` to every container, which podman refuses
# beside `--network host` (a compose service's network_mode: host). This drops those two when
# `--network host` is given, and runs podman with --runtime runc (crun fails on a cgroup v1
# hybrid layout). Use it as `podman-compose --podman-path deploy/podman/podman-hostnet.sh`.
set -euo pipefail

host=0
prev=
for a in "$@"; do
  [[ $prev == --network && $a == host ]] && host=1
  prev=$a
done
args=()
skip=0
for a in "$@"; do
  if ((skip)); then
    skip=0
    continue
  fi
  if ((host)) && [[ $a == --net || $a == --network-alias ]]; then
    skip=1
    continue
  fi
  args+=("$a")
done
exec podman --runtime runc "${args[@]}"
