#!/usr/bin/env bats
# The documentation in docs/: what it says about options agrees with the binary.

load test_helper
load influx_helper

bats_require_minimum_version 1.5.0

teardown() {
  stop_influxd || true
}

# bats test_tags=kafka,xgboost,influx
@test "docs/config.md's key tables are what scripts/gen-config-doc.sh writes from cdn --help" {
  mkdir -p "$BATS_TEST_TMPDIR/repo/scripts" "$BATS_TEST_TMPDIR/repo/docs"
  cp "$REPO_ROOT/scripts/gen-config-doc.sh" "$BATS_TEST_TMPDIR/repo/scripts/"
  cp "$REPO_ROOT/docs/config.md" "$BATS_TEST_TMPDIR/repo/docs/"
  run bash "$BATS_TEST_TMPDIR/repo/scripts/gen-config-doc.sh" "$CDN"
  assert_success
  run diff "$REPO_ROOT/docs/config.md" "$BATS_TEST_TMPDIR/repo/docs/config.md"
  assert_success
  # Every command has its section, and a key for every long option its --help lists.
  local c n_help n_doc
  for c in $("$CDN" --help | awk '/^Subcommands:/ { on = 1; next } on && /^$/ { exit }
                                  on && /^  [a-z]/ { print $1 }'); do
    n_help=$("$CDN" "$c" --help | grep -oE '^  +(-[a-zA-Z],)?--[a-z-]+' | grep -cv -- '--help$' || true)
    n_doc=$(sed -n "/^### \`\\[$c\\]\`/,/^###/p" "$REPO_ROOT/docs/config.md" | grep -c '^| `[a-zA-Z]' || true)
    # -X has no long name and is a key of its own where Kafka is built in.
    [[ $("$CDN" "$c" --help) != *'  -X KEY=VALUE'* ]] || n_help=$((n_help + 1))
    [[ $n_help -eq $n_doc ]] || { echo "[$c]: $n_help options, $n_doc keys"; false; }
  done
}

# bats test_tags=kafka,xgboost,influx
@test "the example file of docs/config.md is accepted by cdn, and the command line wins over it" {
  sed -n '/^```toml$/,/^```$/p' "$REPO_ROOT/docs/config.md" | sed '1d;$d' >"$BATS_TEST_TMPDIR/c.toml"
  [[ -s $BATS_TEST_TMPDIR/c.toml ]]
  printf '%s\n' '{"timestamp":"2026-01-02T00:00:00Z","asn":1}' \
    '{"timestamp":"2026-01-01T00:00:00Z","asn":2}' >"$BATS_TEST_TMPDIR/in.ndjson"
  run cdn --config "$BATS_TEST_TMPDIR/c.toml" -q sort "$BATS_TEST_TMPDIR/in.ndjson"
  assert_success
  assert_line --index 0 --partial '"asn":2'
  run cdn --config "$BATS_TEST_TMPDIR/c.toml" -q sort -k asn "$BATS_TEST_TMPDIR/in.ndjson"
  assert_success
  assert_line --index 0 --partial '"asn":1'
}

# bats test_tags=kafka,xgboost,influx
@test "every sh block of docs/tour.md runs, in order, in one shell, as written, and prints what the tour shows" {
  start_influxd
  local dir="$BATS_TEST_TMPDIR/tour" out="$BATS_TEST_TMPDIR/tour-out"
  mkdir -p "$dir" "$out"
  {
    # Whatever the tour started is stopped, even when a block fails.
    echo 'trap '\''[[ -z ${broker-} ]] || kill "$broker" 2>/dev/null || true'\'' EXIT'
    /usr/bin/python3 "$REPO_ROOT/tests/cli/py/tour.py" script "$REPO_ROOT/docs/tour.md" "$out"
  } >"$BATS_TEST_TMPDIR/tour.sh"
  # Every command of the table appears in the tour.
  local c
  for c in $("$CDN" --help | awk '/^Subcommands:/ { on = 1; next } on && /^$/ { exit }
                                  on && /^  [a-z]/ { print $1 }'); do
    grep -qE "(^|[|(] *)cdn $c( |$)" "$BATS_TEST_TMPDIR/tour.sh" || { echo "no cdn $c in the tour"; false; }
  done
  run bash -c "cd '$dir' && unset CDN_BROKERS &&
    PATH='$(dirname "$CDN")':\$PATH bash -e '$BATS_TEST_TMPDIR/tour.sh'"
  [[ $status -eq 0 ]] || fail "the tour failed ($status) at: $(tail -n 20 "$(ls -t "$out"/block-*.out | head -n 1)")"
  # Each block printed what the console block after it shows (times, addresses, hashes and
  # directories aside), and a block shown without output printed nothing.
  run /usr/bin/python3 "$REPO_ROOT/tests/cli/py/tour.py" compare "$REPO_ROOT/docs/tour.md" "$out"
  assert_success
  assert_output ""
}
