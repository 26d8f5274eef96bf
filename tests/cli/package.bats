#!/usr/bin/env bats
# The Debian package: `cpack -G DEB` in the build directory of the binary under test writes
# it; its control fields, its dependencies, and the installed tree are checked, and the
# binary is run from a temporary root to show that it finds its files relative to itself.

load test_helper

bats_require_minimum_version 1.5.0

setup_file() {
  local build
  build="$(cd "$(dirname "$CDN")" && pwd)"
  if [[ ! -f $build/CMakeCache.txt ]]; then
    echo "package.bats: '$build' is not a CMake build directory; point CDN_BIN at build/PRESET/cdn" >&2
    return 1
  fi
  # Configure again so that the build directory has CPack's configuration, then package:
  # cpack builds what is out of date and installs into its own staging directory.
  cmake "$build" >/dev/null
  cpack -G DEB -B "$BATS_FILE_TMPDIR/cpack" --config "$build/CPackConfig.cmake" \
    >"$BATS_FILE_TMPDIR/cpack.log" 2>&1 || {
    cat "$BATS_FILE_TMPDIR/cpack.log" >&2
    return 1
  }
  local debs=("$BATS_FILE_TMPDIR"/cpack/*.deb)
  [[ ${#debs[@]} -eq 1 && -f ${debs[0]} ]] || {
    echo "package.bats: cpack wrote no single .deb: ${debs[*]}" >&2
    return 1
  }
  export DEB="${debs[0]}"
  # Its files, unpacked into a root of their own.
  export PKGROOT="$BATS_FILE_TMPDIR/root"
  dpkg -x "$DEB" "$PKGROOT"
}

# The commands under "Subcommands:" in `cdn --help`, one a line.
commands() {
  "$CDN" --help | awk '/^Subcommands:/ { on = 1; next }
                       on && /^$/ { exit }
                       on && /^  [a-z]/ { print $1 }'
}

# The Debian package that holds the file at PATH (with /lib and /usr/lib both tried: on a
# merged-/usr system dpkg knows a library under the name its package shipped it with).
package_of() {
  local real candidates p
  real=$(realpath "$1")
  candidates=("$1" "$real" "${real/#\/usr\/lib\//\/lib\/}" "${1/#\/lib\//\/usr\/lib\/}")
  for p in "${candidates[@]}"; do
    dpkg-query -S "$p" 2>/dev/null | sed -n '1s/:.*//p' | grep . && return 0
  done
  return 1
}

@test "cpack writes cdn_VERSION_ARCH.deb with the binary's version and this machine's architecture" {
  local version arch
  version=$("$CDN" --version | sed -n '1s/^cdn //p')
  arch=$(dpkg --print-architecture)
  [[ -n $version ]]
  assert_equal "$(basename "$DEB")" "cdn_${version}_${arch}.deb"
}

@test "the control fields name the package, its version, maintainer, section and description" {
  run dpkg-deb -f "$DEB" Package Version Architecture Maintainer Section Priority Description
  assert_success
  assert_line 'Package: cdn'
  assert_line "Version: $("$CDN" --version | sed -n '1s/^cdn //p')"
  assert_line "Architecture: $(dpkg --print-architecture)"
  assert_line --regexp '^Maintainer: .+ <[^ ]+@[^ ]+>$'
  assert_line 'Section: utils'
  assert_line 'Priority: optional'
  assert_line --regexp '^Description: [a-z].*CDN telemetry$'
  # An extended description follows the summary, each line indented by one space.
  assert_line --regexp '^ cdn is one program'
}

# bats test_tags=kafka,xgboost,influx
@test "Depends names the Debian package of every library the binary links, each installed here" {
  local depends libs lib path pkg missing=()
  depends=$(dpkg-deb -f "$DEB" Depends)
  echo "Depends: $depends"
  libs=$(readelf -d "$CDN" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  [[ -n $libs ]]
  for lib in $libs; do
    path=$(ldd "$CDN" | awk -v l="$lib" '$1 == l { print $3 }')
    [[ -n $path ]] || { missing+=("$lib (not found by ldd)"); continue; }
    pkg=$(package_of "$path") || { missing+=("$lib (no package owns $path)"); continue; }
    [[ ,$depends, =~ [,\ ]"$pkg"[\ ,] ]] || missing+=("$lib ($pkg)")
  done
  assert_equal "${missing[*]-}" ''
  # Every name in Depends is a package installed on this machine, with the version asked for.
  local dep name
  while read -r dep; do
    name=${dep%% *}
    run dpkg-query -W -f='${db:Status-Status}' "$name"
    assert_output installed
  done < <(tr ',' '\n' <<<"$depends" | sed 's/^ *//')
  # The libraries of the optional parts built into this binary are among them.
  local parts
  parts=$("$CDN" --version)
  [[ $parts != *kafka* ]] || [[ $depends == *librdkafka1* ]]
  [[ $parts != *xgboost* ]] || [[ $depends == *libxgboost0* ]]
  [[ $parts != *influx* ]] || [[ $depends == *libcurl4* ]]
  [[ $depends == *libsimdjson* && $depends == *libre2-* ]]
}

@test "Suggests names what the optional tools need: InfluxDB, kcat, and python3-xgboost for the tracker" {
  local suggests
  suggests=$(dpkg-deb -f "$DEB" Suggests)
  echo "Suggests: $suggests"
  [[ ,$suggests, == *[,\ ]influxdb[,\ ]* && ,$suggests, == *[,\ ]kcat[,\ ]* ]]
  # share/cdn/train-tracker.sh runs python3-xgboost's tracker; a build with XGBoost ships it.
  if [[ $("$CDN" --version | sed -n 's/^parts: //p') == *xgboost* ]]; then
    dpkg-deb -c "$DEB" | grep -q '/usr/share/cdn/train-tracker.sh$'
    [[ ,$suggests, == *[,\ ]python3-xgboost[,\ ]* ]]
  else
    ! dpkg-deb -c "$DEB" | grep -q 'train-tracker.sh'
    [[ $suggests != *python3-xgboost* ]]
  fi
}

@test "the package holds only /usr, every file owned by root" {
  run dpkg-deb -c "$DEB"
  assert_success
  run bash -c "dpkg-deb -c '$DEB' | awk '\$6 !~ /^\\.\\/usr\\// || \$2 != \"root/root\"'"
  assert_success
  assert_output ''
}

@test "dpkg installs it into an empty root against this machine's package database, and removes it whole" {
  local root="$BATS_TEST_TMPDIR/root" admin="$BATS_TEST_TMPDIR/dpkg"
  mkdir -p "$root" "$admin/info" "$admin/updates" "$admin/triggers"
  # The installed packages of this machine, so that dpkg checks Depends for real.
  cp /var/lib/dpkg/status "$admin/status"
  run --separate-stderr dpkg --root="$root" --admindir="$admin" -i "$DEB"
  echo "$stderr" | grep -v 'files list file for package' >&2 || true
  assert_success
  assert_line 'Setting up cdn ('"$(dpkg-deb -f "$DEB" Version)"') ...'
  [[ -x $root/usr/bin/cdn ]]
  run dpkg-query --admindir="$admin" -W -f='${Status}' cdn
  assert_output 'install ok installed'
  run --separate-stderr dpkg --root="$root" --admindir="$admin" -r cdn
  assert_success
  run find "$root" -mindepth 1
  assert_output ''
}

@test "the installed cdn runs and reports the package's version" {
  run "$PKGROOT/usr/bin/cdn" --version
  assert_success
  assert_line --index 0 "cdn $(dpkg-deb -f "$DEB" Version)"
}

@test "the installed cdn validate finds its default schema next to the binary" {
  local bin="$PKGROOT/usr/bin/cdn"
  "$bin" gen --rows 50 --seed 3 -q -o "$BATS_TEST_TMPDIR/good.ndjson"
  run --separate-stderr "$bin" validate "$BATS_TEST_TMPDIR/good.ndjson"
  assert_success
  [[ $(wc -l <<<"$output") -eq 50 ]]
  [[ $stderr == *"50 in, 50 out, 0 rejected"*"schema '$PKGROOT/usr/bin/../share/cdn/schemas/cdn-data.json'"* ]]
  # The same schema rejects a record that breaks it, with the reason.
  run --separate-stderr "$bin" validate <<<'{"timestamp":"yesterday"}'
  assert_failure 1
  [[ $stderr == *'"reason":"'*'/timestamp format'* ]]
}

# bats test_tags=xgboost
@test "the installed cdn train derives its features from the schema next to the binary" {
  # A copy of the installed tree whose cdn-data.json lacks rtt_ms: the model's features come
  # from that file, not from the source tree the binary was built in.
  local root="$BATS_TEST_TMPDIR/root"
  cp -a "$PKGROOT" "$root"
  local schema="$root/usr/share/cdn/schemas/cdn-data.json"
  jq 'del(.properties.rtt_ms) | .required -= ["rtt_ms"]' "$schema" >"$schema.new"
  mv "$schema.new" "$schema"
  "$root/usr/bin/cdn" gen --rows 400 --seed 1 -f csv -q -o "$BATS_TEST_TMPDIR/train.csv"
  run --separate-stderr "$root/usr/bin/cdn" train "$BATS_TEST_TMPDIR/train.csv" \
    -o "$BATS_TEST_TMPDIR/model" --rounds 2
  assert_success
  [[ $stderr == *"400 in, 400 out, 0 rejected"* ]]
  run jq -c '[.. | strings | select(. == "rtt_ms" or . == "ttfb_ms")] | unique' \
    "$BATS_TEST_TMPDIR/model/contract.json"
  assert_output '["ttfb_ms"]'
}

# bats test_tags=kafka,xgboost,influx
@test "a man page for cdn and for every command, compressed, that man renders" {
  local dir="$PKGROOT/usr/share/man/man1" c bad=()
  for c in cdn $(commands | sed 's/^/cdn-/'); do
    if [[ ! -f $dir/$c.1.gz ]]; then
      bad+=("$c: missing")
    elif ! gzip -t "$dir/$c.1.gz"; then
      bad+=("$c: not gzip")
    elif ! MANWIDTH=80 man -l "$dir/$c.1.gz" 2>/dev/null | grep -q "^NAME"; then
      bad+=("$c: does not render")
    fi
  done
  assert_equal "${bad[*]-}" ''
  # Nothing else there.
  run bash -c "ls '$dir' | wc -l"
  assert_output "$(($(commands | wc -l) + 1))"
}

@test "the completions are where bash, zsh and fish look for them, and each shell loads them" {
  local bashdir zshdir fishdir
  bashdir=$(pkg-config --variable=completionsdir bash-completion)
  fishdir=$(pkg-config --variable=completionsdir fish)
  zshdir=/usr/share/zsh/vendor-completions
  # zsh's own function path names that directory.
  zsh -fc 'print -l $fpath' | grep -qx "$zshdir"
  run bash -c "source '$PKGROOT$bashdir/cdn' && complete -p cdn"
  assert_success
  assert_output --regexp '^complete .* cdn$'
  run zsh -fc "fpath=('$PKGROOT$zshdir' \$fpath); autoload -Uz compinit; compinit -D; print -r -- \$_comps[cdn]"
  assert_success
  assert_output _cdn
  run fish -c "source '$PKGROOT$fishdir/cdn.fish'; complete -C'cdn so'"
  assert_success
  assert_output --partial sort
}
