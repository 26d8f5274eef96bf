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
  local bad=() c o page
  for c in $(commands); do
    page="$REPO_ROOT/man/cdn-$c.1"
    if [[ ! -f $page ]]; then
      bad+=("man/cdn-$c.1 is missing")
      continue
    fi
    man_text "$page" | grep -q "^\.TH CDN-${c^^} 1" || bad+=("man/cdn-$c.1 has no '.TH CDN-${c^^} 1'")
    for o in $(long_options "$c"); do
      man_text "$page" | grep -qF -- "$o" || bad+=("man/cdn-$c.1 does not mention $o")
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
