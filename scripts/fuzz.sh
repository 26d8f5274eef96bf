#!/usr/bin/env bash
# Builds the libFuzzer targets (the fuzz preset: clang, ASan + UBSan, build/fuzz) and runs
# each one, or the ones named, for a while, one after the other (never two at once).
# Each target starts from its committed corpus tests/fuzz/corpus/TARGET (read only) and
# keeps what it finds in build/fuzz/corpus/TARGET, which later runs start from too.
# Open-ended by default: a new random seed each run (libFuzzer's; printed in the log), so
# that every run tries new inputs. With --seed (and --runs) a run is reproducible instead:
# the same inputs each time, from the committed corpus alone (CI runs it so, in
# tests/cli/fuzz.bats: a failure there is a regression anyone can replay).
# An input that crashes, trips a sanitizer, breaks an invariant (the harnesses trap) or
# runs past --timeout is written to the crash directory, and the script exits 1.
# Installs clang and libFuzzer (Debian packages) when they are missing.
#
# Usage: scripts/fuzz.sh [--time SECONDS] [--seed N] [--runs N] [--jobs N]
#                        [--timeout SECONDS] [--crashes DIR] [--minimize] [--no-build]
#                        [TARGET...]
#   --time SECONDS     how long each target runs (default 60; with --runs, no limit unless
#                      given)
#   --seed N           libFuzzer's -seed=N for every target (default: a random one each
#                      run); the run starts from the committed corpus alone, and what it
#                      finds goes to a temporary directory, so that it can be replayed
#   --runs N           stop each target after its corpus and N inputs more (libFuzzer
#                      -runs), rather than after --time
#   --jobs N           parallel jobs of the build (default 2); the fuzzers run one at a time
#   --timeout SECONDS  one input running longer than this is a failure (default 2)
#   --crashes DIR      where failing inputs go (default build/fuzz/crashes), one
#                      directory per target
#   --minimize         afterwards, replace tests/fuzz/corpus/TARGET by the smallest set of
#                      inputs (libFuzzer -merge=1) that covers it and build/fuzz/corpus/TARGET;
#                      inputs named regression-* (bugs found before) are kept as they are
#   --no-build         run the binaries already in build/fuzz
#   --list             print the target names and exit
#   TARGET             validate ndjson csv timestamp coerce line_protocol predict_features
#                      sort_key kafka_txn
#                      (default: all)
# Prints per target: seconds run, runs, runs per second, corpus size, failures.
set -euo pipefail

all_targets=(validate ndjson csv timestamp coerce line_protocol predict_features sort_key
  kafka_txn)

usage() {
  sed -n 's/^# \{0,1\}//; 2,/^Prints/p' "${BASH_SOURCE[0]}"
}
die() {
  echo "fuzz.sh: $1" >&2
  exit 2
}

time_s=60
time_given=0
seed=
more_runs=
jobs=2
timeout_s=2
crashes=
minimize=0
build=1
targets=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --time | --seed | --runs | --jobs | --timeout | --crashes)
      [[ $# -ge 2 ]] || die "$1 needs a value; see 'scripts/fuzz.sh --help'"
      case $1 in
        --time) time_s=$2; time_given=1 ;;
        --seed) seed=$2 ;;
        --runs) more_runs=$2 ;;
        --jobs) jobs=$2 ;;
        --timeout) timeout_s=$2 ;;
        --crashes) crashes=$2 ;;
      esac
      shift 2 ;;
    --time=*) time_s=${1#*=}; time_given=1; shift ;;
    --seed=*) seed=${1#*=}; shift ;;
    --runs=*) more_runs=${1#*=}; shift ;;
    --jobs=*) jobs=${1#*=}; shift ;;
    --timeout=*) timeout_s=${1#*=}; shift ;;
    --crashes=*) crashes=${1#*=}; shift ;;
    --minimize) minimize=1; shift ;;
    --no-build) build=0; shift ;;
    --list) printf '%s\n' "${all_targets[@]}"; exit 0 ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option '$1'; see 'scripts/fuzz.sh --help'" ;;
    *)
      known=0
      for t in "${all_targets[@]}"; do [[ $1 == "$t" ]] && known=1; done
      [[ $known -eq 1 ]] || die "unknown target '$1'; pick from: ${all_targets[*]}"
      targets+=("$1")
      shift ;;
  esac
done
[[ $time_s =~ ^[1-9][0-9]*$ ]] || die "bad --time '$time_s': a whole number of seconds, at least 1"
[[ -z $seed || $seed =~ ^[1-9][0-9]{0,8}$ ]] || die "bad --seed '$seed': a whole number, 1 to 999999999"
[[ -z $more_runs || $more_runs =~ ^[1-9][0-9]*$ ]] ||
  die "bad --runs '$more_runs': a whole number, at least 1"
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "bad --jobs '$jobs'"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "bad --timeout '$timeout_s': whole seconds, at least 1"
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
crashes=${crashes:-$root/build/fuzz/crashes}

# clang with libFuzzer's runtime (Debian: clang, and libclang-rt-dev for libclang_rt.fuzzer).
have_libfuzzer() {
  command -v clang++ >/dev/null 2>&1 || return 1
  local lib
  lib=$(clang++ -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null) || return 1
  [[ -f $lib ]] || lib=$(clang++ -print-runtime-dir 2>/dev/null)/libclang_rt.fuzzer.a
  [[ -f $lib ]]
}
if [[ $build -eq 1 ]] && ! have_libfuzzer; then
  if [[ $(id -u) -eq 0 ]]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo -n)
  else
    echo "fuzz.sh: clang and libFuzzer are missing, and neither root nor sudo to install them" \
      "(apt-get install clang libclang-rt-dev)" >&2
    exit 3
  fi
  echo "fuzz.sh: installing clang libclang-rt-dev" >&2
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >/dev/null
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    clang libclang-rt-dev </dev/null >/dev/null
  have_libfuzzer || { echo "fuzz.sh: libFuzzer is still missing after installing clang" >&2; exit 3; }
fi

if [[ $build -eq 1 ]]; then
  cmake --preset fuzz --log-level=WARNING >/dev/null
  cmake --build --preset fuzz -j "$jobs"
fi

# A seeded run neither reads nor grows the working corpus: what it starts from is committed.
scratch=
if [[ -n $seed ]]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
fi
limits=()
[[ -n $seed ]] && limits+=(-seed="$seed")
[[ -z $more_runs || $time_given -eq 1 ]] && limits+=(-max_total_time="$time_s")

status=0
summary=()
for t in "${targets[@]}"; do
  bin=build/fuzz/fuzz_$t
  [[ -x $bin ]] || { echo "fuzz.sh: no $bin; build it first (without --no-build)" >&2; exit 3; }
  seeds=tests/fuzz/corpus/$t
  work=build/fuzz/corpus/$t
  [[ -n $scratch ]] && work=$scratch/$t
  out=$crashes/$t
  log=build/fuzz/logs/$t.log
  mkdir -p "$work" "$out" build/fuzz/logs
  [[ -d $seeds ]] || { echo "fuzz.sh: no seed corpus $seeds" >&2; exit 3; }
  before=$(find "$out" -type f | wc -l)
  run_limits=("${limits[@]}")
  # -runs counts the corpus too: N more than the committed inputs
  [[ -n $more_runs ]] && run_limits+=(-runs="$(($(find "$seeds" -type f | wc -l) + more_runs))")
  echo "== $t: fuzzing ${run_limits[*]} (log: $log)" >&2
  start=$(date +%s)
  rc=0
  "$bin" "${run_limits[@]}" -timeout="$timeout_s" -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$out/" "$work" "$seeds" >"$log" 2>&1 || rc=$?
  used_seed=$(sed -n 's/^INFO: Seed: *//p' "$log" | head -n 1)
  end=$(date +%s)
  after=$(find "$out" -type f | wc -l)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  files=$(find "$work" "$seeds" -type f -printf '%f\n' | sort -u | wc -l)
  failed=$((after - before))
  if [[ $rc -ne 0 || $failed -gt 0 ]]; then
    status=1
    echo "fuzz.sh: $t failed (exit $rc, seed ${used_seed:-?}); the input is in $out," \
      "the report in $log:" >&2
    grep -E 'ERROR|invariant broken|SUMMARY|Test unit written' "$log" | head -n 10 >&2 || true
  fi
  line=$(printf '%-17s %5ss %10s runs %7s exec/s  corpus %5s files  failures %s' \
    "$t" "$((end - start))" "${runs:-?}" "${rate:-?}" "$files" "$failed")
  [[ $rc -ne 0 && $failed -eq 0 ]] && line+=" (exit $rc)"
  summary+=("$line")
  echo "$line"

  if [[ $minimize -eq 1 && $rc -eq 0 ]]; then
    merged=$(mktemp -d)
    "$bin" -merge=1 -timeout="$timeout_s" -rss_limit_mb=2048 "$merged" "$seeds" "$work" \
      >"build/fuzz/logs/$t.merge.log" 2>&1 ||
      { echo "fuzz.sh: merging the corpus of $t failed; see build/fuzz/logs/$t.merge.log" >&2
        rm -rf "$merged"; exit 1; }
    find "$seeds" -type f ! -name 'regression-*' -delete
    cp "$merged"/* "$seeds"/ 2>/dev/null || true
    rm -rf "$merged"
    echo "fuzz.sh: $seeds minimized to $(find "$seeds" -type f | wc -l) files" \
      "($(($(du -sb "$seeds" | cut -f1) / 1024)) KiB)" >&2
  fi
done

if [[ -n $more_runs && $time_given -eq 0 ]]; then
  echo "== fuzz summary (the corpus and $more_runs runs more per target, seed ${seed:-random})"
else
  echo "== fuzz summary (${time_s}s per target, seed ${seed:-random})"
fi
printf '%s\n' "${summary[@]}"
exit $status
