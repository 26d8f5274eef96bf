#!/usr/bin/env bash
# Makes the Debian 12 base images deploy/Dockerfile builds on, debian:12 and debian:12-slim,
# from Debian's own packages, for a podman that reaches no image registry: debootstrap
# (variant minbase) from the mirror apt already uses, imported with `podman import`. Does
# nothing when both images exist (--force makes them again).
#
#   debian:12        the minbase system, without package lists or downloaded .debs
#   debian:12-slim   the same, without documentation, manual pages and locales, and with the
#                    dpkg configuration that keeps them out of packages installed later, as
#                    Docker's debian:12-slim does
#
# Needs root, podman and debootstrap (scripts/setup.sh installs them). The mirror is the first
# URI of apt's sources (/etc/apt/sources.list.d/*.sources, /etc/apt/sources.list) that serves
# bookworm; DEBIAN_MIRROR overrides it.
#
# Usage: deploy/podman/base-image.sh [--force]
set -euo pipefail

force=0
case ${1-} in
  '') ;;
  --force) force=1 ;;
  -h | --help) sed -n 's/^# \{0,1\}//; 2,/^Usage/p' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) echo "base-image.sh: unknown argument '$1'; usage: deploy/podman/base-image.sh [--force]" >&2; exit 2 ;;
esac

suite=bookworm
full=docker.io/library/debian:12
slim=docker.io/library/debian:12-slim

if ((force == 0)) && podman image exists "$full" && podman image exists "$slim"; then
  exit 0
fi
for tool in podman debootstrap; do
  command -v "$tool" >/dev/null || {
    echo "base-image.sh: '$tool' is not installed; run scripts/setup.sh" >&2
    exit 3
  }
done
if [[ $(id -u) -ne 0 ]]; then
  echo "base-image.sh: debootstrap needs root; run it as root" >&2
  exit 3
fi

# mirror: the first URI of apt's sources that serves $suite (deb822 .sources or one-line).
mirror=${DEBIAN_MIRROR:-}
if [[ -z $mirror ]]; then
  mirror=$(
    shopt -s nullglob
    for f in /etc/apt/sources.list.d/*.sources; do
      # one stanza a paragraph: the URI of the first whose Types has deb and Suites has $suite
      awk -v s="$suite" '
        function stanza() { if (uri != "" && suites ~ ("(^| )" s "( |$)") && types ~ /(^| )deb( |$)/) print uri
                            uri = ""; suites = ""; types = "" }
        /^[ \t]*$/ { stanza(); next }
        /^URIs:/ { uri = $2 } /^Suites:/ { $1 = ""; suites = $0 } /^Types:/ { $1 = ""; types = $0 }
        END { stanza() }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      if [[ -f $f ]]; then
        sed -E 's/\[[^]]*\]//' "$f" | awk -v s="$suite" '$1 == "deb" && $3 == s { print $2 }'
      fi
    done | head -n 1
  )
  mirror=$(head -n 1 <<<"$mirror")
fi
if [[ -z $mirror ]]; then
  echo "base-image.sh: no apt source serves '$suite'; set DEBIAN_MIRROR to a Debian mirror" >&2
  exit 3
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cdn-base.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
echo "base-image.sh: debootstrap --variant=minbase $suite from $mirror" >&2
if ! debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/log" 2>&1; then
  tail -n 20 "$work/log" >&2
  echo "base-image.sh: debootstrap failed (log above)" >&2
  exit 1
fi
# As Docker's images: no package lists (apt-get update fetches them), no downloaded packages.
find "$root/var/lib/apt/lists" "$root/var/cache/apt" -type f -delete
rm -f "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/var/cache/ldconfig/aux-cache
import() {
  tar --numeric-owner -C "$root" -c . |
    podman import --quiet --change 'CMD ["bash"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$1" >/dev/null
}
import "$full"

# Slim, as Docker's: dpkg leaves documentation, manual pages and locales out from now on, and
# what is there already goes.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root"/usr/share/man/* "$root"/usr/share/groff/* "$root"/usr/share/info/* \
  "$root"/usr/share/lintian/* "$root"/usr/share/linda/*
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
import "$slim"
echo "base-image.sh: made $full and $slim" >&2
