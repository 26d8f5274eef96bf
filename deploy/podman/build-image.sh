#!/usr/bin/env bash
# Builds the cdn image from deploy/Dockerfile with Debian's podman, on a machine that reaches no
# image registry, and reuses the image already built when its inputs have not changed.
#
# - The base images come from deploy/podman/base-image.sh (debootstrap), made when missing.
# - The inputs are the Dockerfile, its .dockerignore, every file its COPY lines name, the base
#   images and the version: their SHA-256 is the image's label io.cdn.inputs. When the image
#   TAG exists with the same label, nothing is built (a change to the tests or the docs is not
#   an input). Otherwise podman builds, reusing its cached layers (the packages' layer stays
#   as long as the base image does).
# - podman runs with --runtime runc (crun fails on a cgroup v1 hybrid layout), the host's
#   network and explicit nofile and nproc limits (the defaults cannot be set everywhere).
# - One build at a time on the machine (flock on /run/lock/cdn-image-build.lock), niced.
#
# Prints one line to stdout: "TAG built in Ns" or "TAG reused".
#
# Usage: deploy/podman/build-image.sh [--tag TAG] [--version X.Y.Z] [--dockerfile FILE]
#   --tag        the image to make (default cdn:VERSION)
#   --dockerfile another Dockerfile (default deploy/Dockerfile), its context its directory
#                when it is not deploy/Dockerfile
#   --version    the build argument CDN_VERSION, the image's version label (default the project
#                version of CMakeLists.txt)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
version=$(sed -n 's/^project(cdn VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
tag=
dockerfile=deploy/Dockerfile
while [[ $# -gt 0 ]]; do
  case $1 in
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    --version) version=${2:?--version needs a value}; shift 2 ;;
    --dockerfile) dockerfile=${2:?--dockerfile needs a value}; shift 2 ;;
    -h | --help) sed -n 's/^# \{0,1\}//; 2,/^Usage/p' "${BASH_SOURCE[0]}"; sed -n '/^#   --/s/^# //p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "build-image.sh: unknown argument '$1'; usage: deploy/podman/build-image.sh [--tag TAG] [--version X.Y.Z] [--dockerfile FILE]" >&2; exit 2 ;;
  esac
done
tag=${tag:-cdn:$version}
# deploy/Dockerfile builds from the repository, with its ignore file; another from its directory.
context=.
ignore=()
if [[ $dockerfile -ef deploy/Dockerfile ]]; then
  ignore=(--ignorefile deploy/Dockerfile.dockerignore)
else
  context=$(dirname "$dockerfile")
fi
[[ $tag == */* ]] || tag=localhost/$tag

podman=(podman --runtime runc)
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

mkdir -p /run/lock
exec {lock}>/run/lock/cdn-image-build.lock
flock "$lock"

bash deploy/podman/base-image.sh

# The inputs' digest: each file a COPY line takes from the context (not --from another stage),
# its path and content, in a stable order; the Dockerfile, its ignore file, the base images'
# IDs and the version.
mapfile -t sources < <(sed -n '/^COPY /{/--from=/d; s/^COPY //; p}' "$dockerfile" |
  awk -v c="$context" '{ for (i = 1; i < NF; i++) print c "/" $i }')
inputs=$(
  {
    sha256sum "$dockerfile"
    [[ ${#ignore[@]} -eq 0 ]] || sha256sum "${ignore[1]}"
    if [[ ${#sources[@]} -gt 0 ]]; then
      find "${sources[@]}" -type f -not -path '*/__pycache__/*' -print0 |
        LC_ALL=C sort -z | xargs -0 sha256sum
    fi
    podman image inspect --format '{{.Id}}' docker.io/library/debian:12 docker.io/library/debian:12-slim
    echo "CDN_VERSION=$version"
  } | sha256sum | cut -c1-64
)

have=$(podman image inspect --format '{{index .Labels "io.cdn.inputs"}}' "$tag" 2>/dev/null || true)
if [[ $have == "$inputs" ]]; then
  echo "$tag reused"
  exit 0
fi

old=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
start=$SECONDS
log=$(mktemp "${TMPDIR:-/tmp}/cdn-image-build.XXXXXX")
if ! nice "${podman[@]}" build --network host "${limits[@]}" \
  -f "$dockerfile" "${ignore[@]}" \
  --build-arg CDN_VERSION="$version" --label io.cdn.inputs="$inputs" -t "$tag" "$context" >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "build-image.sh: podman build of $tag failed (the end of its log above, all of it in $log)" >&2
  exit 1
fi
rm -f "$log"
# The image this one replaces, now without a tag, goes (its layers shared with others stay).
if [[ -n $old && -z $(podman image inspect --format '{{join .RepoTags ""}}' "$old" 2>/dev/null) ]]; then
  podman rmi "$old" >/dev/null 2>&1 || true
fi
echo "$tag built in $((SECONDS - start))s"
