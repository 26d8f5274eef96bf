# Shared set-up for the CLI tests: bats-support, bats-assert, and the binary under test.
# CDN_BIN may name the binary; by default the release build.
load '/usr/lib/bats/bats-support/load.bash'
load '/usr/lib/bats/bats-assert/load.bash'

REPO_ROOT="$(cd "$(dirname "${BATS_TEST_FILENAME}")/../.." && pwd)"
CDN="${CDN_BIN:-$REPO_ROOT/build/release/cdn}"
DATA="$REPO_ROOT/tests/data"
export NO_COLOR=1
unset CDN_CONFIG

cdn() { "$CDN" "$@"; }
