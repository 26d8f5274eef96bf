#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing (scripts/setup.sh),
# builds with warnings as errors (the ci preset, build/ci/cdn) and the libFuzzer targets (the
# fuzz preset, build/fuzz), runs the unit tests and the replay of every fuzz corpus (ctest)
# and every CLI test (tests/cli/*.bats, among them fuzz.bats, which fuzzes each target
# briefly from a fixed seed, and container.bats, which builds the image of deploy/Dockerfile with
# podman, reused while its inputs are unchanged, and runs the deployment in it) against that
# binary. Then the minimal preset (build/minimal/cdn: no Kafka, XGBoost or InfluxDB part) is
# built, its unit tests run, and the CLI tests that need none of those parts (bats tags kafka,
# xgboost, influx, container mark the others) run against it, but for those that run no cdn
# (tag no-cdn-bin: shellcheck, the PowerShell grammar, fuzz.bats), which would run unchanged.
# Exits non-zero when anything failed. Needs no standard input.
#
# Each CLI test's line of the TAP output ends with its time (bats --timing).
#
# Where the time goes: the builds are CPU-bound, most CLI tests wait on servers and timers.
# So only the build under test runs before the tests; the fuzz build, the image build
# (deploy/podman/build-image.sh) and, for the ci preset, the minimal build run after it in the
# background at a lower priority (nice), on what the tests leave idle. The CLI tests that need
# none of them run meanwhile; fuzz.bats and container.bats run once the background builds have
# ended, then the minimal tests. Each background build's log is printed where it ends, and a
# failed one fails the run as it did in the foreground.
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

logs="$(mktemp -d)"
background=
trap '[[ -n $background ]] && kill -- "-$background" 2>/dev/null; rm -rf "$logs"' EXIT
jobs_n="$(nproc 2>/dev/null || echo 2)"

# The background builds, one after the other, niced: the fuzz targets (clang, libFuzzer:
# build/fuzz, which tests/cli/fuzz.bats runs), the image of deploy/Dockerfile (reused when its
# inputs are unchanged; container.bats builds it itself when this one failed, and says why),
# and the minimal build. Each writes its log and then its exit status to $logs.
# A process group of their own (set -m), so that an early exit ends them all.
set -m
(
  set +e
  exec >/dev/null 2>&1
  {
    nice -n 10 cmake --preset fuzz --log-level=WARNING >/dev/null &&
      nice -n 10 cmake --build --preset fuzz -j "$jobs_n"
  } >"$logs/fuzz-build.log" 2>&1
  echo $? >"$logs/fuzz-build.status"
  nice -n 10 bash deploy/podman/build-image.sh >"$logs/image-build.log" 2>&1
  echo $? >"$logs/image-build.status"
  if [[ $preset == ci ]]; then
    nice -n 10 bash scripts/build.sh --preset minimal >"$logs/minimal-build.log" 2>&1
    echo $? >"$logs/minimal-build.status"
  fi
) &
background=$!
set +m

# background_result NAME TITLE: prints the log of background build NAME under "== TITLE" and
# returns its exit status (after the background builds have ended).
background_result() {
  echo "== $2"
  cat "$logs/$1.log" 2>/dev/null || true
  local st
  st=$(cat "$logs/$1.status" 2>/dev/null || echo 1)
  [[ $st -eq 0 ]] || echo "test.sh: the $2 failed (exit status $st)" >&2
  return "$st"
}

# The CLI tests run the binary just built, whatever test_helper.bash would pick by default.
export CDN_BIN="$root/build/$preset/cdn"

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
ctest --test-dir "build/$preset" --output-on-failure -j "$jobs_n" \
  2>&1 | tee "$logs/ctest" || unit_status=$?

echo "== CLI tests (bats)"
shopt -s nullglob
bats_files=(tests/cli/*.bats)
shopt -u nullglob
# The files that need a background build, run after it: fuzz.bats (build/fuzz) and
# container.bats (the image).
first=() after=()
for f in "${bats_files[@]}"; do
  case ${f##*/} in
    fuzz.bats | container.bats) after+=("$f") ;;
    *) first+=("$f") ;;
  esac
done
cli_status=0
if [[ ${#bats_files[@]} -eq 0 ]]; then
  echo "test.sh: no CLI tests in tests/cli" >&2
  cli_status=1
elif [[ ${#first[@]} -gt 0 ]]; then
  bats --timing --formatter tap "${first[@]}" 2>&1 | tee "$logs/bats" || cli_status=$?
fi

wait "$background" || true
background=
build_status=0
background_result fuzz-build "fuzz build (clang, libFuzzer: build/fuzz)" || build_status=1
background_result image-build "image build (deploy/podman/build-image.sh)" || true

if [[ ${#after[@]} -gt 0 ]]; then
  echo "== CLI tests (bats): ${after[*]}"
  bats --timing --formatter tap "${after[@]}" 2>&1 | tee -a "$logs/bats" || cli_status=$?
fi


# The build without the optional parts: it must build with warnings as errors and pass what
# does not need them (never a skip in the full build above: the tags only filter here).
minimal_status=0
if [[ $preset == ci ]]; then
  if background_result minimal-build "minimal build (no Kafka, XGBoost, InfluxDB: build/minimal)"; then
    ctest --test-dir build/minimal --output-on-failure -j "$jobs_n" \
      2>&1 | tee "$logs/ctest-minimal" || minimal_status=$?
    CDN_BIN="$root/build/minimal/cdn" bats --timing --formatter tap \
      --filter-tags '!kafka,!xgboost,!influx,!container,!no-cdn-bin' "${bats_files[@]}" 2>&1 |
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
[[ $build_status -eq 0 ]] || echo "test.sh: the fuzz build failed (its log above)" >&2
[[ $unit_status -eq 0 && $cli_status -eq 0 && $minimal_status -eq 0 && $sanitizer_status -eq 0 &&
  $build_status -eq 0 ]]
