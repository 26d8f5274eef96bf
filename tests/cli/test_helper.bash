# Shared set-up for the CLI tests. Every .bats file starts with `load test_helper`, at the top
# of the file (so setup_file sees it too), before any other helper.
#
# - The environment is hermetic: every variable cdn reads is unset (see cdn_env_names), so a
#   CDN_BROKERS, CDN_CONFIG or INFLUX_TOKEN of the shell that runs bats changes nothing.
# - bats-support and bats-assert are loaded by name from BATS_LIB_PATH.
# - CDN is the binary under test: CDN_BIN, by default the release build; `cdn` runs it.
# - REPO_ROOT is the repository.
# - wait_lines FILE N [TIMEOUT [PID]]: waits until FILE has at least N lines; pid_alive PID.

# Variables cdn reads, found with `grep getenv` and `envname` in cmd/ and common/: CDN_BROKERS,
# CDN_CONFIG, CDN_SCHEMA_DIR, INFLUX_URL, INFLUX_PASSWORD, INFLUX_TOKEN; docker-compose reads
# CDN_VERSION from deploy/docker-compose.yml. Unset by pattern, so that a new CDN_* or INFLUX_*
# variable is covered without a change here; libcurl's proxy variables as well, since
# `cdn load-influx` and the tests' own curl and python talk to 127.0.0.1 directly.
#
# Kept, because the test scripts set them on purpose (scripts/test.sh, or a person replaying
# a run): CDN_BIN (the binary under test), CDN_TEST_SANITIZE (a sanitizer build: deploy.bats
# allows its runtimes), CHAOS_SEED (chaos.bats replays a seed). CDN_TEST_KEEP lists them.
CDN_TEST_KEEP=(CDN_BIN CDN_TEST_SANITIZE CHAOS_SEED)

# cdn_env_names: the variables of the environment that the tests unset, one a line.
cdn_env_names() {
  local name keep
  while IFS= read -r name; do
    case $name in
      CDN_* | INFLUX_* | [Hh][Tt][Tt][Pp]_[Pp][Rr][Oo][Xx][Yy] | [Hh][Tt][Tt][Pp][Ss]_[Pp][Rr][Oo][Xx][Yy] | \
        [Aa][Ll][Ll]_[Pp][Rr][Oo][Xx][Yy] | [Nn][Oo]_[Pp][Rr][Oo][Xx][Yy]) ;;
      *) continue ;;
    esac
    for keep in "${CDN_TEST_KEEP[@]}"; do
      [[ $name == "$keep" ]] && continue 2
    done
    printf '%s\n' "$name"
  done < <(compgen -e)
}

# Once per bats run, in the first process that loads this file: bats sources a .bats file in
# the process that runs setup_file and again in each test's process, which inherits what
# setup_file exported (INFLUX_URL of a shared influxd, say). The marker keeps those.
if [[ ${_CDN_TEST_ENV_CLEAN:-} != "${BATS_RUN_TMPDIR:-none}" ]]; then
  while IFS= read -r _cdn_name; do
    unset "$_cdn_name"
  done < <(cdn_env_names)
  unset _cdn_name
  export _CDN_TEST_ENV_CLEAN="${BATS_RUN_TMPDIR:-none}"
fi
export NO_COLOR=1

# Debian's bats sets BATS_LIB_PATH to /usr/lib/bats, where bats-support and bats-assert are;
# an empty one (which bats leaves as it is) gets the same.
: "${BATS_LIB_PATH:=/usr/lib/bats}"
export BATS_LIB_PATH
bats_load_library bats-support
bats_load_library bats-assert
# Beware: `run` with a flag (--separate-stderr, -N) checks the bats version with a loop over a
# global `i` (bats-core 1.8's bats_version_lt) and leaves it at 2: a test that loops over `i`
# and calls such a `run` inside names its counter otherwise.

REPO_ROOT="$(cd "$(dirname "${BATS_TEST_FILENAME}")/../.." && pwd)"
CDN="${CDN_BIN:-$REPO_ROOT/build/release/cdn}"

cdn() { "$CDN" "$@"; }

# wait_lines FILE N [TIMEOUT [PID]]: waits until FILE has at least N lines (at most TIMEOUT
# seconds, default 30, fractions allowed); fails, saying how many lines FILE has and what it
# ends with, on timeout, or as soon as process PID (when given) has ended (a zombie counts as
# ended) without FILE reaching N lines.
wait_lines() {
  local file=$1 want=${2:-} timeout=${3:-30} pid=${4:-} have limit_ms start
  if [[ ! $want =~ ^[0-9]+$ || ! $timeout =~ ^[0-9]+([.][0-9]+)?$ ]]; then
    fail "usage: wait_lines FILE N [TIMEOUT [PID]] (got: $*)"
    return
  fi
  limit_ms=$(awk -v t="$timeout" 'BEGIN { printf "%d", t * 1000 }')
  start=$(date +%s%N)
  while :; do
    have=0
    [[ -f $file ]] && have=$(wc -l <"$file")
    ((have >= want)) && return 0
    if [[ -n $pid ]] && ! pid_alive "$pid"; then
      fail "wait_lines: process $pid ended; '$file' has $have lines, not $want$(_wait_lines_tail "$file")"
      return
    fi
    if ((($(date +%s%N) - start) / 1000000 >= limit_ms)); then
      fail "wait_lines: '$file' has $have lines after ${timeout}s, not $want$(_wait_lines_tail "$file")"
      return
    fi
    sleep 0.05
  done
}

_wait_lines_tail() {
  [[ -s $1 ]] || return 0
  printf '; it ends with:\n%s' "$(tail -n 5 "$1")"
}

# pid_alive PID: true while process PID runs (a zombie, not yet waited for, counts as ended).
pid_alive() {
  local state
  [[ -r /proc/$1/stat ]] || return 1
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [[ -n $state && $state != Z && $state != X ]]
}

# free_port: a TCP port free on 127.0.0.1 now, for a server a test starts.
free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# on_tty [--cols N] [--eof-when TEXT] [--interrupt-after S] [--timeout S] -- CMD...: run CMD on a
# pseudo-terminal of its own, in the terminal's foreground process group, and print what it
# drew there. Ctrl-D and Ctrl-C are typed as a user would; it does not depend on $SHELL or on
# the test's own standard input (see tests/cli/py/on_tty.py).
on_tty() {
  /usr/bin/python3 "$REPO_ROOT/tests/cli/py/on_tty.py" "$@" </dev/null
}

# draws FILE: the status lines drawn in a terminal's typescript, one a line (each drawn after
# a clear, \r ESC [K, and not ended by a new line as a diagnostic is).
draws() {
  /usr/bin/python3 -c '
import sys
data = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
for part in data.split("\r\x1b[K")[1:]:
    if part and "\n" not in part:
        print(part)
' "$1"
}

# Headless Chromium lays out a report of cdn train or cdn eval (HTML file, then the names of
# the charts it must hold): at 800 and 1400 px every chart is there, no text of a
# chart (tick labels, axis titles, legend, reference-line labels) overlaps another, and the
# screenshots are not blank.
chromium_checks() {
  local html=$1 T=${T:-$BATS_TEST_TMPDIR}
  shift
  for w in 800 1400; do
    run /usr/bin/python3 "$REPO_ROOT/tests/cli/py/check_layout.py" "$html" "$w" "$@"
    assert_success
    assert_output --regexp "^$w px: [0-9]+ charts, no text overlaps$"
    chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
      --user-data-dir="$(mktemp -d "$T/profile.XXXXXX")" --hide-scrollbars \
      --screenshot="$T/shot-$w.png" --window-size="$w,3000" "file://$html" 2>/dev/null
    run /usr/bin/python3 "$REPO_ROOT/tests/cli/py/check_png.py" "$T/shot-$w.png" "$w"
    assert_success
    assert_output "${w}x3000, not blank"
  done
}

# wait_for FILE TEXT: until FILE holds TEXT (30 s at most).
wait_for() {
  local i
  for ((i = 0; i < 300; i++)); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "no '$2' in $1: $(cat "$1")"
}
