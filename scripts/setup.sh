#!/usr/bin/env bash
# Installs the Debian packages cdn needs to build, test and run its pipeline.
# Idempotent: when everything is installed it checks, prints nothing and exits 0.
# Runs as root, or through sudo otherwise; never asks a question (no stdin needed).
#
# Usage: scripts/setup.sh [--list]
#   --list   print the package names and exit
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  # libraries
  libcli11-dev libsimdjson-dev zlib1g-dev librdkafka-dev
  # cdn validate: JSON Schema (valijson) with a linear-time regex engine (RE2)
  libvalijson-dev libre2-dev
  # cdn train and predict (XGBoost C API); cdn load-influx (HTTP over libcurl)
  libxgboost-dev libcurl4-openssl-dev
  # unit tests
  libgtest-dev googletest
  # CLI tests and the pipeline script
  bats bats-assert bats-support jq time gzip
  # shell completions, checked by the tests in every shell they are written for
  bash-completion zsh fish
  # man pages, checked by the tests with groff
  groff-base
  # lint of the shell scripts, in the tests
  shellcheck
  # Kafka interoperability tests
  kcat
  # reference implementations the tests compare with (Debian's /usr/bin/python3)
  python3 python3-jsonschema python3-xgboost python3-pandas python3-sklearn
  # the Python Kafka service bench/predict-kafka.sh runs beside cdn predict
  python3-confluent-kafka
  # the official JSON Schema test suite that cdn validate is held to
  json-schema-test-suite
  # InfluxDB 1.x server that the load-influx tests start on 127.0.0.1
  influxdb
  # Prometheus: promtool checks the commands' /metrics, and service.bats starts a server on
  # 127.0.0.1 that scrapes them (--metrics-addr)
  prometheus
  # checks of deploy/ (tests/cli/deploy.bats): YAML parsing and lint, and docker-compose 1.x
  # to validate the compose file (`docker-compose config` needs no Docker engine)
  python3-yaml yamllint docker-compose
  # the container tests (tests/cli/container.bats): podman builds deploy/Dockerfile and runs the
  # image with runc (crun fails on a cgroup v1 hybrid layout), debootstrap makes the Debian
  # base images where no registry is reachable, podman-compose brings the compose file up
  podman runc debootstrap podman-compose
  # the Debian package (cpack -G DEB): its Depends from dpkg-shlibdeps; package.bats reads
  # the binary's libraries with readelf (binutils) and renders the man pages with man-db
  dpkg-dev binutils man-db
  # node and npm: the PowerShell grammar check of scripts/pipeline.ps1 in scripts.bats runs
  # tree-sitter-powershell (npm installs it from tests/cli/ps/package-lock.json), and
  # interop.bats runs kafkajs against cdn broker (from tests/interop/package-lock.json); each
  # .bats file installs its packages when they are missing
  nodejs npm
  # the fuzz targets (scripts/fuzz.sh, tests/cli/fuzz.bats): clang, libFuzzer's runtime
  clang libclang-rt-dev
  # headless Chromium: train.bats lays out and screenshots the HTML report of cdn train at
  # 800 and 1400 px and measures that no chart text overlaps
  chromium
  # the repository itself
  git ca-certificates
)

if [[ ${1-} == --list ]]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi
if [[ $# -gt 0 ]]; then
  echo "setup.sh: unknown argument '$1'; usage: scripts/setup.sh [--list]" >&2
  exit 2
fi

missing=()
for p in "${packages[@]}"; do
  # Some nodejs packages (NodeSource's) bring their own npm and conflict with Debian's.
  [[ $p == npm ]] && command -v npm >/dev/null 2>&1 && continue
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo -n)
else
  echo "setup.sh: missing packages (${missing[*]}) and neither root nor sudo to install them" >&2
  exit 3
fi

export DEBIAN_FRONTEND=noninteractive
echo "setup.sh: installing ${missing[*]}" >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >/dev/null
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  --no-install-recommends "${missing[@]}" </dev/null >/dev/null
