#!/usr/bin/env bats
# The fuzz targets (tests/fuzz) and scripts/fuzz.sh: every target is complete (harness, seed
# corpus, replay test, fuzz preset), and each one fuzzes briefly without a failure.
# The brief run is reproducible: a fixed seed (printed; FUZZ_SEED=N picks another) and a
# fixed number of runs past the committed corpus, which it starts from alone, so that a
# failure here is a regression that the same command replays. Open-ended fuzzing, a new
# seed each run, is scripts/fuzz.sh without --seed.
# The brief run builds the fuzz preset when it is not built (scripts/test.sh builds it
# first); without clang and libFuzzer, and no way to install them, it fails: it never skips.
# No test here runs cdn (CDN_BIN): the tag no-cdn-bin keeps them out of scripts/test.sh's second
# pass against the minimal binary, where they would run again unchanged.
# bats file_tags=no-cdn-bin

load test_helper

bats_require_minimum_version 1.5.0

@test "fuzz.sh --help names its options and the targets" {
  run bash "$REPO_ROOT/scripts/fuzz.sh" --help
  assert_success
  for opt in --time --seed --runs --jobs --timeout --crashes --minimize --no-build --list; do
    assert_output --partial "$opt"
  done
  assert_output --partial line_protocol
}

@test "fuzz.sh refuses an unknown target, a bad --time and an unknown option" {
  run bash "$REPO_ROOT/scripts/fuzz.sh" --no-build nosuch
  assert_failure 2
  assert_output --partial "unknown target 'nosuch'"
  run bash "$REPO_ROOT/scripts/fuzz.sh" --no-build --time 0
  assert_failure 2
  assert_output --partial "bad --time '0'"
  run bash "$REPO_ROOT/scripts/fuzz.sh" --time
  assert_failure 2
  assert_output --partial "--time needs a value"
  run bash "$REPO_ROOT/scripts/fuzz.sh" --no-build --seed x
  assert_failure 2
  assert_output --partial "bad --seed 'x'"
  run bash "$REPO_ROOT/scripts/fuzz.sh" --no-build --runs -1
  assert_failure 2
  assert_output --partial "bad --runs '-1'"
  run bash "$REPO_ROOT/scripts/fuzz.sh" --fast
  assert_failure 2
  assert_output --partial "unknown option '--fast'"
}

@test "every fuzz target has a harness, a small seed corpus, a replay test and a fuzz preset entry" {
  run bash "$REPO_ROOT/scripts/fuzz.sh" --list
  assert_success
  [[ ${#lines[@]} -ge 7 ]] || fail "fuzz.sh --list names ${#lines[@]} targets"
  for t in "${lines[@]}"; do
    [[ -f $REPO_ROOT/tests/fuzz/${t}_fuzz.cpp ]] || fail "no tests/fuzz/${t}_fuzz.cpp"
    grep -q '__builtin_trap\|CDN_FUZZ_REQUIRE' "$REPO_ROOT/tests/fuzz/${t}_fuzz.cpp" ||
      fail "tests/fuzz/${t}_fuzz.cpp asserts no invariant"
    local n kib
    n=$(find "$REPO_ROOT/tests/fuzz/corpus/$t" -type f | wc -l)
    [[ $n -ge 5 ]] || fail "tests/fuzz/corpus/$t holds $n seeds"
    kib=$(($(du -sb "$REPO_ROOT/tests/fuzz/corpus/$t" | cut -f1) / 1024))
    [[ $kib -le 1024 ]] || fail "tests/fuzz/corpus/$t holds $kib KiB, over 1 MiB"
    grep -Eq "CDN_FUZZ_TARGETS.*[[:space:]]$t([[:space:]]|\))" "$REPO_ROOT/tests/fuzz/CMakeLists.txt" ||
      fail "$t is not in CDN_FUZZ_TARGETS (tests/fuzz/CMakeLists.txt)"
    grep -q "\"fuzz_$t\"" "$REPO_ROOT/CMakePresets.json" ||
      fail "fuzz_$t is not a target of the fuzz build preset"
  done
}

@test "each fuzz target replays its corpus and runs 500 inputs more from a fixed seed without a crash or a broken invariant" {
  local seed=${FUZZ_SEED:-1}
  echo "# FUZZ_SEED=$seed: scripts/fuzz.sh --seed $seed --runs 500"
  run bash "$REPO_ROOT/scripts/fuzz.sh" --seed "$seed" --runs 500 --crashes "$BATS_TEST_TMPDIR/crashes"
  assert_success
  for t in $(bash "$REPO_ROOT/scripts/fuzz.sh" --list); do
    assert_line --regexp "^$t +[0-9]+s +[0-9]+ runs +[0-9]+ exec/s +corpus +[0-9]+ files +failures 0$"
  done
  run find "$BATS_TEST_TMPDIR/crashes" -type f
  assert_output ''
}
