#!/usr/bin/env bats
# Generic tests over the command table: every command `cdn --help` lists has a working
# --help, a man page that documents its options, and entries in the three completion
# scripts; the committed completion scripts are the ones the binary writes.

load test_helper

bats_require_minimum_version 1.5.0

# The commands under "Subcommands:" in `cdn --help`, one a line.
commands() {
  "$CDN" --help | awk '/^Subcommands:/ { on = 1; next }
                       on && /^$/ { exit }
                       on && /^  [a-z]/ { print $1 }'
}

# The long options (without --help) that `cdn CMD --help` lists, one a line.
long_options() {
  "$CDN" "$1" --help | awk '/^  +-/ { print $1 }' | tr ',' '\n' | sed -n 's/=.*//; /^--/p' |
    grep -vx -- --help
}

# built_in PART: true when `cdn --version` lists PART on its "parts:" line (not on its
# "not built in:" line).
built_in() {
  "$CDN" --version | grep -qE "^parts: (.* )?$1( |\$)"
}

# Man page source with roff's escaped hyphens (\-) made plain.
man_text() {
  sed 's/\\-/-/g; s/\\(hy/-/g' "$1"
}

@test "cdn --help lists the commands of the table" {
  run commands
  assert_success
  assert_line sort
  assert_line completion
}

@test "every command's --help exits 0 and shows its usage" {
  local bad=() c
  for c in $(commands); do
    run "$CDN" "$c" --help
    if [[ $status -ne 0 || $output != *"Usage: cdn $c"* ]]; then
      bad+=("$c (status $status)")
    fi
  done
  [[ ${#bad[@]} -eq 0 ]] || fail "commands without a working --help: ${bad[*]}"
}

@test "every command has a man page that mentions each long option of its --help" {
  local bad=() c o page text
  for c in $(commands); do
    page="$REPO_ROOT/man/cdn-$c.1"
    if [[ ! -f $page ]]; then
      bad+=("man/cdn-$c.1 is missing")
      continue
    fi
    # the page's text once per command, not once per option
    text=$(man_text "$page")
    grep -q "^\.TH CDN-${c^^} 1" <<<"$text" || bad+=("man/cdn-$c.1 has no '.TH CDN-${c^^} 1'")
    for o in $(long_options "$c"); do
      grep -qF -- "$o" <<<"$text" || bad+=("man/cdn-$c.1 does not mention $o")
    done
  done
  [[ ${#bad[@]} -eq 0 ]] || fail "$(printf '%s\n' "${bad[@]}")"
}

@test "man/cdn.1 mentions every command and every global option" {
  local bad=() c o page="$REPO_ROOT/man/cdn.1"
  for c in $(commands); do
    man_text "$page" | grep -qE "cdn-$c\b|^\.B $c\b|^\.TP.*$c" || bad+=("command $c")
  done
  for o in $("$CDN" --help | awk '/^  +-/ { print $1 }' | tr ',' '\n' | sed -n '/^--/p'); do
    man_text "$page" | grep -qF -- "$o" || bad+=("option $o")
  done
  [[ ${#bad[@]} -eq 0 ]] || fail "man/cdn.1 does not mention: ${bad[*]}"
}

@test "every man page renders without groff warnings" {
  local bad=() page err
  for page in "$REPO_ROOT"/man/*.1; do
    err=$(groff -man -ww -z "$page" 2>&1) || true
    [[ -z $err ]] || bad+=("$(basename "$page"): $err")
  done
  [[ ${#bad[@]} -eq 0 ]] || fail "$(printf '%s\n' "${bad[@]}")"
}

@test "every command and its long options are in the bash, zsh and fish completions" {
  local bad=() c o fn
  local bash_file="$REPO_ROOT/completions/cdn.bash"
  local zsh_file="$REPO_ROOT/completions/_cdn"
  local fish_file="$REPO_ROOT/completions/cdn.fish"
  for c in $(commands); do
    local bash_opts zsh_body fish_lines
    bash_opts=$(grep -E "^      $c\) mapfile -t COMPREPLY " "$bash_file" || true)
    fn="_cdn_${c//-/_}"
    zsh_body=$(sed -n "/^$fn() {\$/,/^}\$/p" "$zsh_file")
    fish_lines=$(grep -F "__fish_seen_subcommand_from $c'" "$fish_file" || true)
    grep -qE "compgen -W '([^']* )?$c( [^']*)?' -- \"\\\$cur\"\) ;;" "$bash_file" ||
      bad+=("bash: command $c")
    grep -qE "^ +'$c:" "$zsh_file" || bad+=("zsh: command $c")
    grep -qE -- "-a $c -d " "$fish_file" || bad+=("fish: command $c")
    for o in $(long_options "$c"); do
      [[ $bash_opts == *" $o "* || $bash_opts == *" $o'"* ]] || bad+=("bash: $c $o")
      [[ $zsh_body == *"$o"* ]] || bad+=("zsh: $c $o")
      [[ $fish_lines == *"-l ${o#--} "* ]] || bad+=("fish: $c $o")
    done
  done
  [[ ${#bad[@]} -eq 0 ]] || fail "missing from completions/: ${bad[*]}"
}

# bats test_tags=kafka,xgboost,influx
@test "the committed completion scripts are the ones cdn completion writes" {
  local bad=() shell file
  for shell in bash zsh fish; do
    case $shell in
      bash) file=completions/cdn.bash ;;
      zsh) file=completions/_cdn ;;
      fish) file=completions/cdn.fish ;;
    esac
    run diff -u "$REPO_ROOT/$file" <("$CDN" completion "$shell")
    [[ $status -eq 0 ]] || bad+=("$file")
  done
  [[ ${#bad[@]} -eq 0 ]] ||
    fail "stale: ${bad[*]}; run scripts/gen-completions.sh and commit the result"
}

@test "cdn --version names the version, the commit, the parts built in and the libraries in use" {
  run cdn --version
  assert_success
  assert_line --regexp '^cdn [0-9]+\.[0-9]+\.[0-9]+'
  assert_line --regexp '^parts: '
  # Each optional part is on exactly one of the two lines, as the build configured it.
  local part option on cache
  cache="$(dirname "$CDN")/CMakeCache.txt"
  for part in kafka xgboost influx; do
    option=CDN_WITH_${part^^}
    if built_in "$part"; then
      refute_line --regexp "^not built in: (.* )?$part( |\$)"
      on=ON
    else
      assert_line --regexp "^not built in: (.* )?$part( |\$)"
      on=OFF
    fi
    if [[ -f $cache ]]; then
      grep -qx "$option:BOOL=$on" "$cache" || fail "--version says $part is $on, $cache says otherwise"
    fi
  done
  # the commit, and the libraries in use with their versions (XGBoost and libcurl opened to ask)
  assert_line --index 0 --regexp '^cdn [0-9]+\.[0-9]+\.[0-9]+$'
  assert_line --regexp '^commit: ([0-9a-f]{12}|unknown)$'
  local libs
  libs=$(grep '^libraries: ' <<<"$output")
  [[ $libs =~ ^"libraries: simdjson "[0-9.]+", RE2 "[0-9]{8} ]] || fail "$libs"
  if built_in kafka; then
    [[ $libs == *", librdkafka $(dpkg-query -W -f='${Version}' librdkafka1 | sed 's/-.*//')"* ]] || fail "$libs"
  fi
  if built_in xgboost; then
    [[ $libs == *", XGBoost $(/usr/bin/python3 -c 'import xgboost; print(xgboost.__version__)')"* ]] || fail "$libs"
  fi
  if built_in influx; then
    [[ $libs == *", libcurl $(dpkg-query -W -f='${Version}' libcurl4 | sed 's/-.*//')"* ]] || fail "$libs"
  fi
}

# ld_run CMD...: runs CMD (its stdout dropped) with the dynamic loader's log of the files it
# opens, and CMD's own stderr, in $BATS_TEST_TMPDIR/ld; returns CMD's status.
ld_run() {
  LD_DEBUG=files "$@" >/dev/null 2>"$BATS_TEST_TMPDIR/ld"
}

@test "libxgboost and libcurl are loaded by the commands that use them, not at every start" {
  local ld=$BATS_TEST_TMPDIR/ld
  run ld_run "$CDN" --help
  assert_success
  run grep -c 'file=lib\(xgboost\|curl\)' "$ld"
  assert_output 0
  printf '{"timestamp":"2026-11-22T00:00:01Z"}\n' >"$BATS_TEST_TMPDIR/one.ndjson"
  run ld_run "$CDN" -q sort "$BATS_TEST_TMPDIR/one.ndjson"
  assert_success
  run grep -c 'file=lib\(xgboost\|curl\)' "$ld"
  assert_output 0
  if built_in influx; then
    # Nothing listens on port 1: the write fails at once (a runtime failure), after libcurl
    # is loaded.
    printf '{"timestamp":"2026-11-22T00:00:01Z","bytes_sent":1}\n' >"$BATS_TEST_TMPDIR/w.ndjson"
    run ld_run "$CDN" -q load-influx --url http://127.0.0.1:1 --retry-timeout 0s --db d "$BATS_TEST_TMPDIR/w.ndjson"
    assert_failure 3
    run grep -c 'file=libcurl.*dynamically loaded' "$ld"
    assert_output 1
  fi
  if built_in xgboost; then
    cdn -q gen --rows 200 --format csv --seed 1 -o "$BATS_TEST_TMPDIR/t.csv"
    run ld_run "$CDN" -q train --rounds 1 "$BATS_TEST_TMPDIR/t.csv" -o "$BATS_TEST_TMPDIR/m"
    assert_success
    run grep -c 'file=libxgboost.*dynamically loaded' "$ld"
    assert_output 1
  fi
}

@test "cdn with no command is a usage error" {
  run cdn
  assert_failure 2
  assert_output --partial 'cdn --help'
}

@test "an unknown command is a usage error that names it" {
  run cdn no-such-command
  assert_failure 2
  assert_output --partial 'no-such-command'
}

@test "a mistyped command or option is named with the nearest one: did you mean" {
  run --separate-stderr cdn srot x
  assert_failure 2
  assert_equal "$stderr" "cdn: unknown command 'srot' (did you mean 'sort'?); see 'cdn --help'"
  run --separate-stderr cdn valdate
  [[ $stderr == *"(did you mean 'validate'?)"* ]]
  run --separate-stderr cdn sort --chek /dev/null
  assert_failure 2
  assert_equal "$stderr" "cdn sort: unknown option '--chek' (did you mean '--check'?); see 'cdn sort --help'"
  run --separate-stderr cdn sort --buffer-sise=4M /dev/null
  [[ $stderr == *"unknown option '--buffer-sise=4M' (did you mean '--buffer-size'?)"* ]]
  run --separate-stderr cdn --verbos sort /dev/null
  [[ $stderr == *"unknown option '--verbos' (did you mean '--verbose'?)"* ]]
  # nothing near: no guess
  run --separate-stderr cdn xyzzy
  assert_equal "$stderr" "cdn: unknown command 'xyzzy'; see 'cdn --help'"
  run --separate-stderr cdn sort --frobnicate /dev/null
  [[ $stderr != *"did you mean"* ]]
}

@test "no command, an unknown global option, a missing argument: each said in cdn's words" {
  run --separate-stderr cdn
  assert_failure 2
  [[ $stderr == "cdn: no command given; name one of "*"sort, tag"*"validate; see 'cdn --help'" ]]
  run --separate-stderr cdn --bogus
  assert_failure 2
  assert_equal "$stderr" "cdn: unknown option '--bogus'; see 'cdn --help'"
  # train and predict are commands only in a build with XGBoost
  if built_in xgboost; then
    run --separate-stderr cdn train
    assert_failure 2
    assert_equal "$stderr" "cdn train: missing TRAIN: Training data: CSV files with a header row or NDJSON files (gzip allowed), '-' for stdin (CSV unless --input-format ndjson), or kafka:TOPIC with -e; see 'cdn train --help'"
    run --separate-stderr cdn predict /dev/null
    assert_failure 2
    [[ $stderr == "cdn predict: missing --model: Model bundle directory written by cdn train; see 'cdn predict --help'" ]]
    [[ $stderr != *"is required"* ]]
  fi
}

@test "an unknown global option is a usage error that names it" {
  run cdn --no-such-option sort
  assert_failure 2
  assert_output --partial -- '--no-such-option'
}

@test "an unknown option of any command is a usage error that names it" {
  local bad=() c
  for c in $(commands); do
    run "$CDN" "$c" --no-such-option </dev/null
    if [[ $status -ne 2 || $output != *--no-such-option* ]]; then
      bad+=("$c (status $status: $output)")
    fi
  done
  [[ ${#bad[@]} -eq 0 ]] || fail "$(printf '%s\n' "${bad[@]}")"
}

# The options of `cdn CMD --help` that take a number, one "--long TYPE" a line: those whose
# type is a number (N, MS, R, T, X, F, FRACTION, SIZE, DURATION) or shows a range ("in [").
numeric_options() {
  "$CDN" "$1" --help | awk '/^  +-/ {
      names = $1; type = $2; sub(/[:=].*/, "", type)
      if (type ~ /^(N|MS|R|T|X|F|FRACTION|SIZE|DURATION)$/ || $0 ~ / in \[/) {
        n = split(names, parts, ",")
        for (i = 1; i <= n; i++) if (parts[i] ~ /^--/) print parts[i], type
      }
    }'
}

# Arguments that get a command past its other checks to the one of the option under test.
numeric_test_args() {
  case $1 in
    predict) echo "-m $BATS_TEST_TMPDIR" ;;
    produce | consume) echo "-t x" ;;
    train) echo "-o $BATS_TEST_TMPDIR/model $BATS_TEST_TMPDIR/none.csv" ;;
    load-influx) echo "--dry-run" ;;
  esac
}

# check_numeric_refusal CMD OPTION: the last `run` refused -1 for OPTION of CMD as a usage
# error naming the option, the value and a range; else adds to `bad`.
check_numeric_refusal() {
  if [[ $status -ne 2 || $output != *"'-1'"* || $output != *"$2"* || $output != *" from "* ]]; then
    bad+=("$1 $2 (status $status: $output)")
  fi
}

@test "every numeric option of every command refuses -1 with a usage error naming it and the range" {
  local bad=() c o type seen=()
  for c in $(commands); do
    while read -r o type; do
      seen+=("$c $o")
      # shellcheck disable=SC2046
      run timeout 20 "$CDN" "$c" $(numeric_test_args "$c") "$o" -1 </dev/null
      check_numeric_refusal "$c" "$o"
    done < <(numeric_options "$c")
  done
  # The --help parsing found what every build has, so the loop above was not vacuous.
  for o in "sort --buffer-size" "tag --start" "validate --threads" "gen --rows"; do
    [[ " ${seen[*]} " == *" $o "* ]] || fail "$o not among the numeric options found: ${seen[*]}"
  done
  [[ ${#bad[@]} -eq 0 ]] || fail "$(printf '%s\n' "${bad[@]}")"
}

@test "every numeric option of every command refuses -1 from the config file too" {
  local bad=() c o type
  for c in $(commands); do
    while read -r o type; do
      printf '[%s]\n%s = -1\n' "$c" "${o#--}" >"$BATS_TEST_TMPDIR/c.toml"
      # shellcheck disable=SC2046
      run timeout 20 "$CDN" --config "$BATS_TEST_TMPDIR/c.toml" "$c" $(numeric_test_args "$c") \
        </dev/null
      check_numeric_refusal "$c" "$o"
    done < <(numeric_options "$c")
  done
  [[ ${#bad[@]} -eq 0 ]] || fail "$(printf '%s\n' "${bad[@]}")"
}

@test "a whole-number option refuses a value beyond its type, a fraction, hex and a sign" {
  local v
  for v in 18446744073709551616 1.5 0x10 +3 ' 3' ''; do
    run cdn tag --start "$v" </dev/null
    assert_failure 2
    assert_output "cdn tag: bad value '$v' for --start; give a whole number from 0 to 18446744073709551614"
  done
}

@test "a whole-number option reads leading zeros as decimal, not octal" {
  run cdn tag --start 010 <<<'{}'
  assert_success
  assert_output --partial '{"sampleID":10}'
}

@test "a filter reading a terminal says so once; not when its input is a pipe or a file, nor with -q" {
  local cmd
  for cmd in validate tag sort; do
    on_tty --eof-when 'name a file' --timeout 30 -- "$CDN" $cmd >"$BATS_TEST_TMPDIR/tty" ||
      fail "$cmd did not end at Ctrl-D: $(cat -v "$BATS_TEST_TMPDIR/tty")"
    run grep -a -c "cdn $cmd: reading records from the terminal (standard input); end with Ctrl-D, or name a file" \
      "$BATS_TEST_TMPDIR/tty"
    [[ $output == 1 ]] || fail "$cmd: $(cat -v "$BATS_TEST_TMPDIR/tty")"
  done
  # Ctrl-C while it waits on the terminal ends it too
  run on_tty --interrupt-after 1 --timeout 30 -- "$CDN" validate
  [[ $status -ne 124 ]] || fail "validate still waiting after Ctrl-C: $output"
  on_tty --interrupt-after 1 --timeout 30 -- "$CDN" -q validate >"$BATS_TEST_TMPDIR/quiet" || true
  run grep -a -c 'reading records from the terminal' "$BATS_TEST_TMPDIR/quiet"
  assert_output 0
  run --separate-stderr bash -c "echo '{}' | '$CDN' tag"
  [[ $stderr != *"from the terminal"* ]]
}

# The options of `cdn CMD --help` as "SHORT LONG" pairs, one a line ("-" when there is none).
option_pairs() {
  "$CDN" "$1" --help | awk '/^  +-/ {
      n = split($1, parts, ","); s = "-"; l = "-"
      for (i = 1; i <= n; i++) {
        p = parts[i]; sub(/[=:].*/, "", p)
        if (p ~ /^--/) l = p; else if (p ~ /^-[A-Za-z]$/) s = p
      }
      print s, l
    }'
}

# bats test_tags=kafka
@test "no short option means two things across commands, and no long option has two short forms" {
  local -A long_of short_of
  local bad=() c s l
  for c in $(commands); do
    while read -r s l; do
      [[ $s == - || $l == - ]] && continue
      if [[ -n ${long_of[$s]:-} && ${long_of[$s]} != "$l" ]]; then
        bad+=("$s is ${long_of[$s]} and, in $c, $l")
      fi
      if [[ -n ${short_of[$l]:-} && ${short_of[$l]} != "$s" ]]; then
        bad+=("$l is ${short_of[$l]} and, in $c, $s")
      fi
      long_of[$s]=$l
      short_of[$l]=$s
    done < <(option_pairs "$c")
  done
  # The walk saw options of every kind: -o/--output, -b/--brokers, and commands with -t.
  [[ ${long_of[-o]:-} == --output && ${long_of[-b]:-} == --brokers ]] || fail "walk found: ${!long_of[*]}"
  [[ ${#bad[@]} -eq 0 ]] || fail "$(printf '%s\n' "${bad[@]}")"
}

@test "-b/--brokers is a list of brokers in every command that has it, never a count" {
  local bad=() c
  for c in $(commands); do
    "$CDN" "$c" --help | grep -E '^  +(-b,)?--brokers ' | grep -qv ' LIST' && bad+=("$c")
  done
  [[ ${#bad[@]} -eq 0 ]] || fail "--brokers is not a LIST in: ${bad[*]}"
}

# The options of `cdn CMD --help` whose value is a duration, one a line.
duration_options() {
  "$CDN" "$1" --help | awk '/^  +-/ && ($2 ~ /^(DURATION|MS)([:=]|$)/) {
      n = split($1, parts, ",")
      for (i = 1; i <= n; i++) if (parts[i] ~ /^--/) print parts[i]
    }'
}

# bats test_tags=kafka
@test "every duration option of every command takes units (500ms, 5s, 2m) and refuses others" {
  local bad=() c o v seen=()
  for c in $(commands); do
    for o in $(duration_options "$c"); do
      seen+=("$c $o")
      for v in 500ms 5s 2m; do
        # Parsing only: an unknown option is reported once every value has passed its check.
        # shellcheck disable=SC2046
        run timeout 20 "$CDN" "$c" $(numeric_test_args "$c") "$o" "$v" --no-such-option </dev/null
        [[ $status -eq 2 && $output == *"unknown option '--no-such-option'"* ]] ||
          bad+=("$c $o $v: $output")
      done
      # shellcheck disable=SC2046
      run timeout 20 "$CDN" "$c" $(numeric_test_args "$c") "$o" 5x </dev/null
      [[ $status -eq 2 && $output == *"'5x'"* && $output == *"$o"* ]] || bad+=("$c $o 5x (status $status: $output)")
    done
  done
  for o in "sort --timeout" "sort --stats-interval" "tag --health-timeout"; do
    [[ " ${seen[*]} " == *" $o "* ]] || fail "$o not among the duration options found: ${seen[*]}"
  done
  [[ ${#bad[@]} -eq 0 ]] || fail "$(printf '%s\n' "${bad[@]}")"
}

# bats test_tags=kafka
@test "a plain number keeps its meaning: --timeout 1500 is 1.5 s, as --timeout 1500ms" {
  printf '{"timestamp":"2026-11-22T00:00:01Z"}\n' >"$BATS_TEST_TMPDIR/one.ndjson"
  local v
  for v in 1500 1500ms 1.5s; do
    run --separate-stderr cdn sort --timeout "$v" "$BATS_TEST_TMPDIR/one.ndjson"
    assert_success
    assert_output '{"timestamp":"2026-11-22T00:00:01Z"}'
  done
  run --separate-stderr cdn sort --timeout 0 "$BATS_TEST_TMPDIR/one.ndjson"
  assert_failure 2
  [[ $stderr == *"bad value '0' for --timeout; give a duration from 1ms to "*"(a plain number is milliseconds)"* ]] || fail "$stderr"
}

@test "old spellings still work for a release, each with one warning on stderr naming the new one" {
  local T=$BATS_TEST_TMPDIR
  printf '{"k":2}\n{"k":1}\n' >"$T/in.ndjson"
  printf '{"k":1}\n{"k":2}\n' >"$T/sorted.ndjson"
  run --separate-stderr cdn sort -c -k k "$T/sorted.ndjson"
  assert_success
  assert_equal "$stderr" "cdn sort: warning: -c is deprecated and goes in the next release; write --check"
  run --separate-stderr cdn sort -c -k k "$T/in.ndjson"
  assert_failure 1  # still --check: out of order
  run --separate-stderr cdn -q sort -m -k k "$T/sorted.ndjson" "$T/sorted.ndjson"
  assert_success
  assert_equal "$(wc -l <<<"$output")" 4
  assert_equal "$stderr" ""  # -q: errors only
  run --separate-stderr cdn sort -m -k k "$T/sorted.ndjson"
  [[ $stderr == *"-m is deprecated and goes in the next release; write --merge"* ]] || fail "$stderr"
  run --separate-stderr cdn tag --field id "$T/in.ndjson"
  assert_success
  assert_line --index 0 '{"k":2,"id":1}'
  [[ $(grep -c 'deprecated' <<<"$stderr") == 1 && $stderr == *"--field is deprecated and goes in the next release; write --id-field"* ]] || fail "$stderr"
  # the config file: keys follow option names, and an old key warns naming the new key
  printf '[tag]\nfield = "id"\n' >"$T/c.toml"
  run --separate-stderr cdn --config "$T/c.toml" tag "$T/in.ndjson"
  assert_success
  assert_line --index 0 '{"k":2,"id":1}'
  [[ $stderr == *"warning: the key 'field' in [tag] of the config file '$T/c.toml', line 2, is deprecated and goes in the next release; write the key 'id-field'"* ]] || fail "$stderr"
  [[ $(grep -c 'deprecated' <<<"$stderr") == 1 ]] || fail "$stderr"
  # the new spellings say nothing of the kind
  run --separate-stderr cdn tag --id-field id "$T/in.ndjson"
  [[ $stderr != *deprecated* ]] || fail "$stderr"
  # a mistyped option is matched with the new spelling, not the old
  run --separate-stderr cdn tag --id-feld id "$T/in.ndjson"
  [[ $stderr == *"(did you mean '--id-field'?)"* ]] || fail "$stderr"
}

@test "a directory named as an input or an output is a usage error that says it is a directory, in every command" {
  local T=$BATS_TEST_TMPDIR bad=() c args
  mkdir "$T/dir"
  printf '{"timestamp":"2026-11-22T00:00:01Z"}\n' >"$T/one.ndjson"
  for c in sort tag validate; do
    run --separate-stderr "$CDN" "$c" "$T/dir"
    [[ $status -eq 2 && $stderr == *"cannot read '$T/dir': it is a directory"* ]] || bad+=("$c input: $status $stderr")
    run --separate-stderr "$CDN" "$c" -o "$T/dir" "$T/one.ndjson"
    [[ $status -eq 2 && $stderr == *"cannot write '$T/dir': it is a directory"* ]] || bad+=("$c -o: $status $stderr")
    run --separate-stderr "$CDN" "$c" --rejects "$T/dir" "$T/one.ndjson"
    [[ $status -eq 2 && $stderr == *"cannot write '$T/dir': it is a directory"* ]] || bad+=("$c --rejects: $status $stderr")
  done
  run --separate-stderr "$CDN" gen -n 1 -o "$T/dir"
  [[ $status -eq 2 && $stderr == *"it is a directory"* ]] || bad+=("gen -o: $status $stderr")
  run --separate-stderr "$CDN" validate --schema "$T/dir" "$T/one.ndjson"
  [[ $status -eq 2 && $stderr == *"cannot read the schema '$T/dir': it is a directory"* ]] || bad+=("validate --schema: $status $stderr")
  run --separate-stderr "$CDN" tag --state "$T/dir" "$T/one.ndjson"
  [[ $status -eq 2 && $stderr == *"cannot write the state file '$T/dir': it is a directory"* ]] || bad+=("tag --state: $status $stderr")
  if built_in xgboost; then
    for c in predict eval; do
      run --separate-stderr "$CDN" "$c" -m "$T/dir" "$T/dir"
      [[ $status -eq 2 ]] || bad+=("$c: $status $stderr")
    done
  fi
  [[ ${#bad[@]} -eq 0 ]] || fail "$(printf '%s\n' "${bad[@]}")"
}

@test "an output, rejects, state or temporary path in a directory that does not exist says which directory, as a usage error" {
  local T=$BATS_TEST_TMPDIR bad=() c
  printf '{"timestamp":"2026-11-22T00:00:01Z"}\n' >"$T/one.ndjson"
  for c in sort tag validate gen; do
    run --separate-stderr "$CDN" "$c" -o "$T/nodir/x" "$T/one.ndjson"
    [[ $c == gen ]] && run --separate-stderr "$CDN" gen -n 1 -o "$T/nodir/x"
    [[ $status -eq 2 && $stderr == *"cannot write '$T/nodir/x': the directory '$T/nodir' does not exist; name a file in an existing directory"* ]] ||
      bad+=("$c -o: $status $stderr")
  done
  run --separate-stderr "$CDN" sort --rejects "$T/nodir/r" "$T/one.ndjson"
  [[ $status -eq 2 && $stderr == *"the directory '$T/nodir' does not exist"* ]] || bad+=("sort --rejects: $status $stderr")
  run --separate-stderr "$CDN" tag --state "$T/nodir/s" "$T/one.ndjson"
  [[ $status -eq 2 && $stderr == *"cannot write the state file '$T/nodir/s': the directory '$T/nodir' does not exist"* ]] || bad+=("tag --state: $status $stderr")
  run --separate-stderr "$CDN" sort -T "$T/nodir" "$T/one.ndjson"
  [[ $status -eq 2 && $stderr == *"the directory '$T/nodir' does not exist"* ]] || bad+=("sort -T: $status $stderr")
  # a file where a directory should be
  run --separate-stderr "$CDN" sort -o "$T/one.ndjson/x" "$T/one.ndjson"
  [[ $status -eq 2 && $stderr == *"'$T/one.ndjson' is not a directory"* ]] || bad+=("sort -o file/x: $status $stderr")
  [[ ${#bad[@]} -eq 0 ]] || fail "$(printf '%s\n' "${bad[@]}")"
}

# The example lines at the end of `cdn CMD --help`, one a line, without their indent.
examples() {
  "$CDN" "$1" --help | awk '/^Examples:$/ { on = 1; next } on && /^  cdn / { sub(/^  /, ""); print; next } on { exit }'
}

@test "every command's --help ends with examples, whose options the command has" {
  local bad=() c line word cmd_words n opts
  for c in $(commands); do
    n=$(examples "$c" | wc -l)
    ((n >= 1 && n <= 3)) || bad+=("$c: $n examples")
    # the section is the last thing --help shows
    "$CDN" "$c" --help | tail -n "$((n + 1))" | head -1 | grep -qx 'Examples:' || bad+=("$c: examples not at the end")
    opts=" $(option_pairs "$c" | tr '\n' ' ') "
    while read -r line; do
      # each pipeline stage that is a cdn command: its options are the command's own
      local IFS='|'
      for stage in $line; do
        IFS=' ' read -r -a cmd_words <<<"$stage"
        [[ ${cmd_words[0]} == cdn ]] || continue
        local sc=${cmd_words[1]}
        local sopts=" $(option_pairs "$sc" | tr '\n' ' ') "
        for word in "${cmd_words[@]:2}"; do
          [[ $word == -* && $word != - ]] || continue
          [[ $sopts == *" ${word%%=*} "* ]] || bad+=("$c example '$line': $sc has no ${word%%=*}")
        done
      done
      unset IFS
    done < <(examples "$c")
  done
  [[ ${#bad[@]} -eq 0 ]] || fail "$(printf '%s\n' "${bad[@]}")"
}

# The escape sequences of diagnostics: bold red for an error's prefix, bold yellow for a
# warning's, then back to plain.
RED=$'\e[1;31m'
YELLOW=$'\e[1;33m'
PLAIN=$'\e[0m'

# colour_tty [VAR=VALUE...] CMD...: on_tty, with NO_COLOR unset (test_helper sets it) and
# TERM=xterm, then the variables given; prints what CMD drew on the terminal.
colour_tty() {
  (
    unset NO_COLOR
    export TERM=xterm
    while [[ $1 == [A-Z_]*=* ]]; do
      export "${1?}"
      shift
    done
    on_tty --timeout 60 -- "$@" || true
  )
}

@test "every command's errors have a red prefix on a terminal; none with NO_COLOR, TERM=dumb or a pipe" {
  local c setting bad=()
  for c in $(commands); do
    colour_tty "$CDN" "$c" --no-such-option >"$BATS_TEST_TMPDIR/tty"
    grep -aqF "${RED}cdn $c:${PLAIN} unknown option '--no-such-option'" "$BATS_TEST_TMPDIR/tty" ||
      bad+=("$c on a terminal: $(cat -v "$BATS_TEST_TMPDIR/tty")")
    # NO_COLOR set to any value, or a dumb terminal: plain
    for setting in NO_COLOR=1 NO_COLOR=no TERM=dumb; do
      colour_tty "$setting" "$CDN" "$c" --no-such-option >"$BATS_TEST_TMPDIR/tty"
      if ! grep -aqF "cdn $c: unknown option '--no-such-option'" "$BATS_TEST_TMPDIR/tty" ||
        grep -aq $'\e' "$BATS_TEST_TMPDIR/tty"; then
        bad+=("$c with $setting: $(cat -v "$BATS_TEST_TMPDIR/tty")")
      fi
    done
    # stderr a pipe: plain, NO_COLOR or not
    run --separate-stderr env -u NO_COLOR TERM=xterm "$CDN" "$c" --no-such-option
    [[ $stderr == "cdn $c: unknown option '--no-such-option'"* && $stderr != *$'\e'* ]] ||
      bad+=("$c through a pipe: $(cat -v <<<"$stderr")")
  done
  [[ ${#bad[@]} -eq 0 ]] || fail "$(printf '%s\n' "${bad[@]}")"
}

# bats test_tags=xgboost
@test "the examples of every command that needs no server run as written, without warnings" {
  local bad=() c line ran=0
  cd "$BATS_TEST_TMPDIR"
  # the files the examples name
  cdn -q gen -n 2000 --seed 7 -o day1.ndjson
  cdn -q gen -n 2000 --seed 8 | gzip >day2.ndjson.gz
  cdn -q gen -n 2000 --seed 9 --format csv -o train.csv
  cdn -q sort day1.ndjson -o sorted.ndjson
  cdn -q validate day1.ndjson -o valid.ndjson
  cdn -q train --rounds 5 train.csv -o model
  cdn -q tag sorted.ndjson -o tagged.ndjson
  cdn -q predict -m model tagged.ndjson -o predictions.ndjson
  for c in sort tag validate gen train predict eval load-influx completion; do
    built_in xgboost || [[ $c != train && $c != predict && $c != eval ]] || continue
    built_in influx || [[ $c != load-influx ]] || continue
    while read -r line; do
      # servers and brokers are left to the parse check above; --dry-run needs neither
      [[ $line == *kafka:* || ($c == load-influx && $line != *--dry-run*) ]] && continue
      [[ $c == completion && $line == *'fpath'* ]] && continue
      line=${line//'~/.local/share/bash-completion/completions/cdn'/completion.bash}
      line=${line//'~/.config/fish/completions/cdn.fish'/completion.fish}
      run --separate-stderr timeout 120 bash -c "PATH=$(dirname "$CDN"):\$PATH; $line >/dev/null"
      ran=$((ran + 1))
      if [[ $status -gt 1 || $stderr == *warning* ]]; then
        bad+=("$line: status $status: ${stderr:0:300}")
      fi
    done < <(examples "$c")
  done
  ((ran >= 10)) || fail "only $ran examples ran"
  [[ ${#bad[@]} -eq 0 ]] || fail "$(printf '%s\n' "${bad[@]}")"
}

# bats test_tags=kafka,xgboost,influx
@test "the deployment's config files use no old spelling: no deprecation warning" {
  local f
  for f in deploy/cdn.toml deploy/k8s/cdn.toml; do
    run --separate-stderr cdn --config "$REPO_ROOT/$f" sort /dev/null
    assert_success
    [[ $stderr != *deprecated* ]] || fail "$f: $stderr"
  done
}

@test "an empty NO_COLOR leaves colour on, as no-color.org says; --log-format json is never coloured" {
  colour_tty NO_COLOR= "$CDN" sort --no-such-option >"$BATS_TEST_TMPDIR/tty"
  run grep -acF "${RED}cdn sort:${PLAIN} unknown option" "$BATS_TEST_TMPDIR/tty"
  assert_output 1
  colour_tty "$CDN" --log-format json sort --no-such-option >"$BATS_TEST_TMPDIR/tty"
  run grep -ac '"level":"error"' "$BATS_TEST_TMPDIR/tty"
  assert_output 1
  run grep -ac $'\e' "$BATS_TEST_TMPDIR/tty"
  assert_output 0
}

# bats test_tags=xgboost
@test "a warning's prefix is yellow on a terminal and an error's red in the same run; plain when piped" {
  local csv="$BATS_TEST_TMPDIR/empty.csv"
  : >"$csv"
  colour_tty "$CDN" train -o "$BATS_TEST_TMPDIR/m" "$csv" >"$BATS_TEST_TMPDIR/tty"
  run grep -acF "${YELLOW}cdn train: warning:${PLAIN} the CSV file '$csv' is empty" "$BATS_TEST_TMPDIR/tty"
  [[ $output == 1 ]] || fail "$(cat -v "$BATS_TEST_TMPDIR/tty")"
  run grep -acF "${RED}cdn train:${PLAIN} " "$BATS_TEST_TMPDIR/tty"
  [[ $output == 1 ]] || fail "$(cat -v "$BATS_TEST_TMPDIR/tty")"
  run --separate-stderr env -u NO_COLOR TERM=xterm "$CDN" train -o "$BATS_TEST_TMPDIR/m" "$csv"
  [[ $stderr == *"cdn train: warning: the CSV file '$csv' is empty"* && $stderr != *$'\e'* ]] ||
    fail "$(cat -v <<<"$stderr")"
}

@test "a name or value holding bytes a terminal acts on is quoted as GNU sort quotes it, in one whole line, by every command" {
  local bad=() c
  # one line, whole (it ends with what to change), with no control byte but its newline
  check() {
    local what=$1 want_status=$2 want=$3
    if [[ $status -ne $want_status || $stderr != *"$want"* || $stderr == *$'\n'* ]] ||
      LC_ALL=C eval '[[ $stderr =~ [[:cntrl:]] ]]'; then
      bad+=("$what: status $status: $(cat -v <<<"$stderr")")
    fi
  }
  for c in $(commands); do
    run --separate-stderr "$CDN" "$c" $'--no-such-\e[2J\n'
    check "$c, an unknown option" 2 "unknown option '--no-such-'\$'\\033''[2J'\$'\\n'; see 'cdn $c --help'"
  done
  local name=$'in\n\e[2J\x9b.ndjson' quoted="'in'\$'\\n\\033''[2J'\$'\\233''.ndjson'"
  local built=" $(commands | tr '\n' ' ') "
  for c in sort tag validate "load-influx --dry-run" "train -o $BATS_TEST_TMPDIR/m"; do
    # (a build without InfluxDB or XGBoost has no load-influx or train)
    [[ $built == *" ${c%% *} "* ]] || continue
    run --separate-stderr "$CDN" $c "$name"
    check "$c, a missing input" 3 "cannot open $quoted: No such file or directory"
  done
  # a value with a NUL (from a config file, where TOML allows one) is shown whole
  printf '[sort]\nbuffer-size = "\\u0000x\\u001b[2J"\n' >"$BATS_TEST_TMPDIR/c.toml"
  run --separate-stderr "$CDN" --config "$BATS_TEST_TMPDIR/c.toml" sort /dev/null
  check "a size holding a NUL" 2 "bad size \$'\\000''x'\$'\\033''[2J' for -S/--buffer-size; write a number of bytes"
  [[ ${#bad[@]} -eq 0 ]] || fail "$(printf '%s\n' "${bad[@]}")"
}
