#!/usr/bin/env bash
# Regenerates completions/cdn.bash, completions/_cdn and completions/cdn.fish from a built
# cdn binary, so the committed scripts follow the command-line definitions. Run it after
# adding or changing a command or an option; tests/cli/commands.bats fails while they differ.
#
# Usage: scripts/gen-completions.sh [CDN_BINARY]
#   CDN_BINARY defaults to $CDN_BIN, then build/release/cdn.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${1:-${CDN_BIN:-$root/build/release/cdn}}"
if [[ ! -x $bin ]]; then
  echo "gen-completions.sh: no cdn binary at '$bin'; build it first (scripts/build.sh)" >&2
  exit 2
fi

write() {
  local shell=$1 file=$2 tmp
  tmp="$(mktemp "$file.XXXXXX")"
  if ! "$bin" completion "$shell" >"$tmp"; then
    rm -f "$tmp"
    echo "gen-completions.sh: '$bin completion $shell' failed" >&2
    exit 3
  fi
  chmod 644 "$tmp"
  mv "$tmp" "$file"
  echo "$file"
}

write bash "$root/completions/cdn.bash"
write zsh "$root/completions/_cdn"
write fish "$root/completions/cdn.fish"
