#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing (scripts/setup.sh),
# builds with warnings as errors (the ci preset, build/ci/cdn) and the libFuzzer targets (the
# fuzz preset, build/fuzz), runs the unit tests and the replay of every fuzz corpus (ctest)
# and every CLI test (tests/cli/*.bats, among them fuzz.bats, which fuzzes each target
# briefly from a fixed seed, and container.bats, which builds the image of deploy/Dockerfile with
# podman, reused while its inputs are unchanged, and runs the deployment in it) against that
# binary. Then the minimal preset (build/minimal/cdn: no Kafka, XGBoost or InfluxDB part) is
# built, its unit tests run, and the CLI tests that need none of those parts (bats tags kafka,
# xgboost, influx, container mark the others) run against it.
# Exits non-zero when anything failed. Needs no standard input.
#
# --sanitize runs the same suite against the sanitize preset instead (build/sanitize/cdn:
# AddressSanitizer, LeakSanitizer and UndefinedBehaviorSanitizer). Every sanitizer report
# of every process the tests start, background ones included, is written under
# build/sanitize/reports/; any report fails the run and is printed at the end.
#
# Usage: scripts/test.sh [--sanitize]
set -euo pipefail

preset=ci
while [[ $# -gt 0 ]]; do
  case $1 in
    -h | --help) sed -n 's/^# \{0,1\}//; 2,/^Usage/p' "${BASH_SOURCE[0]}"; exit 0 ;;
    --sanitize) preset=sanitize; shift ;;
    *) echo "test.sh: unknown argument '$1'; usage: scripts/test.sh [--sanitize]" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
exec </dev/null

bash scripts/setup.sh
bash scripts/build.sh --preset "$preset"
# The fuzz targets, built here so that the build shows as a step of its own; tests/cli/fuzz.bats
# runs them (and would build them itself otherwise).
echo "== fuzz build (clang, libFuzzer: build/fuzz)"
cmake --preset fuzz --log-level=WARNING >/dev/null
cmake --build --preset fuzz -j "$(nproc 2>/dev/null || echo 2)"

# The CLI tests run the binary just built, whatever test_helper.bash would pick by default.
export CDN_BIN="$root/build/$preset/cdn"
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

reports=""
if [[ $preset == sanitize ]]; then
  # A report goes to a file named after the process, and its exit status is 99 (no command
  # of cdn exits 99), so neither a test that ignores stderr nor one that expects a failure
  # status can miss it.
  reports="$root/build/sanitize/reports"
  rm -rf "$reports"
  mkdir -p "$reports"
  export ASAN_OPTIONS="log_path=$reports/asan:exitcode=99:detect_leaks=1:abort_on_error=0:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1"
  export UBSAN_OPTIONS="log_path=$reports/ubsan:exitcode=99:halt_on_error=1:print_stacktrace=1"
  export LSAN_OPTIONS="suppressions=$root/tests/lsan.supp"
  export CDN_TEST_SANITIZE=1
fi

echo "== unit tests (ctest)"
unit_status=0
ctest --test-dir "build/$preset" --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" \
  2>&1 | tee "$logs/ctest" || unit_status=$?

echo "== CLI tests (bats)"
shopt -s nullglob
bats_files=(tests/cli/*.bats)
shopt -u nullglob
cli_status=0
if [[ ${#bats_files[@]} -eq 0 ]]; then
  echo "test.sh: no CLI tests in tests/cli" >&2
  cli_status=1
else
  bats --formatter tap "${bats_files[@]}" 2>&1 | tee "$logs/bats" || cli_status=$?
fi


# The build without the optional parts: it must build with warnings as errors and pass what
# does not need them (never a skip in the full build above: the tags only filter here).
minimal_status=0
if [[ $preset == ci ]]; then
  echo "== minimal build (no Kafka, XGBoost, InfluxDB: build/minimal)"
  if bash scripts/build.sh --preset minimal; then
    ctest --test-dir build/minimal --output-on-failure -j "$(nproc 2>/dev/null || echo 2)" \
      2>&1 | tee "$logs/ctest-minimal" || minimal_status=$?
    CDN_BIN="$root/build/minimal/cdn" bats --formatter tap \
      --filter-tags '!kafka,!xgboost,!influx,!container' "${bats_files[@]}" 2>&1 |
      tee "$logs/bats-minimal" || minimal_status=$?
  else
    minimal_status=1
  fi
fi

# One closing line over both suites.
unit_total=$(sed -n 's/.*tests passed, [0-9]* tests\{0,1\} failed out of \([0-9]*\).*/\1/p' \
  "$logs/ctest" | tail -n 1)
unit_failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of.*/\1/p' \
  "$logs/ctest" | tail -n 1)
unit_total=${unit_total:-0}
unit_failed=${unit_failed:-0}
[[ $unit_status -ne 0 && $unit_failed -eq 0 ]] && unit_failed=1
cli_passed=$(grep -c '^ok ' "$logs/bats" 2>/dev/null || true)
cli_failed=$(grep -c '^not ok ' "$logs/bats" 2>/dev/null || true)
cli_passed=${cli_passed:-0}
cli_failed=${cli_failed:-0}
[[ $cli_status -ne 0 && $cli_failed -eq 0 ]] && cli_failed=1

unit_passed=$((unit_total > unit_failed ? unit_total - unit_failed : 0))
echo "== unit: $unit_passed passed, $unit_failed failed; CLI: $cli_passed passed, $cli_failed failed"
if [[ $preset == ci ]]; then
  min_unit=$(sed -n 's/.*tests passed, [0-9]* tests\{0,1\} failed out of \([0-9]*\).*/\1/p' \
    "$logs/ctest-minimal" 2>/dev/null | tail -n 1)
  min_passed=$(grep -c '^ok ' "$logs/bats-minimal" 2>/dev/null || true)
  min_failed=$(grep -c '^not ok ' "$logs/bats-minimal" 2>/dev/null || true)
  echo "== minimal: ${min_unit:-0} unit tests, CLI: ${min_passed:-0} passed, ${min_failed:-0} failed" \
    "(status $minimal_status)"
fi
echo "$((unit_passed + cli_passed)) passed, $((unit_failed + cli_failed)) failed"
sanitizer_status=0
if [[ -n $reports ]]; then
  shopt -s nullglob
  found=("$reports"/*)
  shopt -u nullglob
  if [[ ${#found[@]} -gt 0 ]]; then
    echo "== sanitizers: ${#found[@]} report(s) in $reports"
    for f in "${found[@]}"; do
      echo "-- $f"
      head -n 40 "$f"
    done
    sanitizer_status=1
  else
    echo "== sanitizers: no report"
  fi
fi
[[ $unit_status -eq 0 && $cli_status -eq 0 && $minimal_status -eq 0 && $sanitizer_status -eq 0 ]]
