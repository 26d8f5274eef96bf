#!/usr/bin/env bash
# Configures and builds cdn with a preset from CMakePresets.json:
#   release  optimized (build/release/cdn), the default
#   ci       release with warnings as errors (build/ci/cdn)
#   minimal  ci without the Kafka, XGBoost and InfluxDB parts (build/minimal/cdn)
#   debug    debug with AddressSanitizer and UndefinedBehaviorSanitizer (build/debug/cdn)
#   sanitize optimized with debug information, AddressSanitizer and UndefinedBehaviorSanitizer
#            (build/sanitize/cdn): what `scripts/test.sh --sanitize` runs the suite against
#
# Usage: scripts/build.sh [--preset release|ci|minimal|debug|sanitize] [-j N]
set -euo pipefail

usage() {
  sed -n 's/^# \{0,1\}//; 2,/^Usage/p' "${BASH_SOURCE[0]}"
}

preset=release
jobs="$(nproc 2>/dev/null || echo 2)"
while [[ $# -gt 0 ]]; do
  case $1 in
    --preset) [[ $# -ge 2 ]] || { echo "build.sh: --preset needs a value" >&2; exit 2; }
      preset=$2; shift 2 ;;
    --preset=*) preset=${1#*=}; shift ;;
    -j) [[ $# -ge 2 ]] || { echo "build.sh: -j needs a value" >&2; exit 2; }
      jobs=$2; shift 2 ;;
    -j*) jobs=${1#-j}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "build.sh: unknown argument '$1'; see 'scripts/build.sh --help'" >&2; exit 2 ;;
  esac
done
case $preset in
  release | ci | minimal | debug | sanitize) ;;
  *) echo "build.sh: unknown preset '$preset'; pick release, ci, minimal, debug or sanitize" >&2; exit 2 ;;
esac
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "build.sh: bad job count '$jobs'" >&2; exit 2; }

cd "$(dirname "${BASH_SOURCE[0]}")/.."
cmake --preset "$preset" --log-level=WARNING >/dev/null
cmake --build --preset "$preset" -j "$jobs"
echo "build.sh: built build/$preset/cdn" >&2
