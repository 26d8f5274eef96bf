# Containers for CLI tests: the cdn image built from deploy/Dockerfile, run with Debian's
# podman. Load after test_helper.
#
# - pod ARGS...        podman with --runtime runc (crun fails on a cgroup v1 hybrid layout)
# - PODMAN_LIMITS      the nofile and nproc limits every build and run sets (the defaults
#                      cannot be set on every machine)
# - podman_works       fails, saying why, unless podman runs a container here: a container
#                      test never skips
# - build_image ARGS   deploy/podman/build-image.sh ARGS (the base images when missing, the image
#                      when its inputs changed), its line "TAG built in Ns" or "TAG reused"
#                      printed to the TAP stream
# - TEST_LABEL         a label on every container a test starts (io.cdn.test=...), so that
#                      remove_containers removes those and no other
# - in_image [OPTS...] -- ARGV...  ARGV in a container of $IMAGE (see below)
# - service_run NAME [OPTS...]  the podman run arguments of compose service NAME (see
#                      tests/cli/py/compose_run.py), its mounts on CONF, DATA and MODELS, in
#                      the array SERVICE_ARGS
# - container_addr NAME  the HOST:PORT a container says it serves /metrics on (10 s at most)
# - http_status ADDR PATH  the status of a GET

PODMAN_LIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

pod() { podman --runtime runc "$@"; }

podman_works() {
  local out
  command -v podman >/dev/null || {
    echo "podman is not installed: run scripts/setup.sh (podman runc debootstrap podman-compose)" >&2
    return 1
  }
  command -v runc >/dev/null || {
    echo "runc is not installed: run scripts/setup.sh" >&2
    return 1
  }
  if ! out=$(pod run --rm --network host "${PODMAN_LIMITS[@]}" docker.io/library/debian:12-slim true 2>&1); then
    echo "podman cannot run a container here (runc, host network, nofile and nproc 1024): $out" >&2
    return 1
  fi
}

build_image() {
  local line
  line=$(bash "$REPO_ROOT/deploy/podman/build-image.sh" "$@") || return 1
  echo "# $line" >&3
  echo "$line"
}

TEST_LABEL=io.cdn.test=${BATS_RUN_TMPDIR##*/}-${BATS_SUITE_TEST_NUMBER:-0}

# in_image [OPTS...] -- ARGV...: ARGV in a container of $IMAGE on the host's network with a
# read-only root, removed at its end; OPTS are more options of podman run.
in_image() {
  local opts=()
  while [[ $# -gt 0 && $1 != -- ]]; do
    opts+=("$1")
    shift
  done
  shift
  pod run --rm --network host "${PODMAN_LIMITS[@]}" --read-only --label "$TEST_LABEL" \
    "${opts[@]}" "$IMAGE" "$@"
}

service_run() {
  local name=$1
  shift
  mapfile -d '' SERVICE_ARGS < <(/usr/bin/python3 "$REPO_ROOT/tests/cli/py/compose_run.py" \
    "$REPO_ROOT/deploy/docker-compose.yml" "$name" "./cdn.toml=$CONF" "./data=$DATA" "models=$MODELS")
  [[ ${#SERVICE_ARGS[@]} -gt 2 ]] || {
    echo "service_run: no arguments for compose service $name" >&2
    return 1
  }
  SERVICE_ARGS=(run --network host "${PODMAN_LIMITS[@]}" --read-only --label "$TEST_LABEL" "$@"
    "${SERVICE_ARGS[@]}")
}

container_addr() {
  local addr
  for _ in $(seq 100); do
    addr=$(pod logs "$1" 2>&1 | sed -n 's/.*serving \/metrics, \/healthz and \/readyz on //p' | head -n 1)
    [[ -n $addr ]] && {
      echo "$addr"
      return 0
    }
    sleep 0.1
  done
  echo "container $1 says nowhere that it serves /metrics: $(pod logs "$1" 2>&1 | tail -n 5)" >&2
  return 1
}

http_status() {
  curl -s -o /dev/null -m 10 -w '%{http_code}' "http://$1$2"
}

remove_containers() {
  local ids
  ids=$(podman ps -aq --filter "label=$TEST_LABEL" 2>/dev/null) || return 0
  [[ -n $ids ]] || return 0
  # shellcheck disable=SC2086 # one ID a word
  pod rm -f -t 5 $ids >/dev/null 2>&1 || true
}
