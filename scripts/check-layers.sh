#!/usr/bin/env bash
# Checks the shape of the code that the build alone does not: every include in common/ goes
# down the layers or stays in its folder, no command calls librdkafka itself, only the
# endpoint layer reads "kafka:" in what a user wrote, and no source file is longer than
# 800 lines. Prints each breach as FILE:LINE: what, and exits 1 when there is one.
#
#   base <- diag <- io <- record <- {schema, pipeline, kafka, gen} <- endpoint
#        <- {model, influx, cli} <- cmd
#
# (CMakeLists.txt builds one library per folder, linked to the layers below it only, so an
# upward include also fails to compile.)
#
# Usage: scripts/check-layers.sh
set -euo pipefail
if [[ $# -gt 0 ]]; then
  [[ $1 == -h || $1 == --help ]] && { sed -n 's/^# \{0,1\}//; 2,/^Usage/p' "$0"; exit 0; }
  echo "check-layers.sh: unknown argument '$1'; usage: scripts/check-layers.sh" >&2
  exit 2
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."

exec python3 - <<'PY'
import os, re, sys

rank = {"base": 0, "diag": 1, "io": 2, "record": 3, "schema": 4, "pipeline": 4, "kafka": 4,
        "gen": 4, "endpoint": 5, "model": 6, "influx": 6, "cli": 6}
include = re.compile(r'^\s*#\s*include\s+"common/([a-z_]+)/')
breaches = []

def sources(top):
    for d, _, files in os.walk(top):
        for f in sorted(files):
            if f.endswith((".cpp", ".hpp", ".h", ".cpp.in")):
                yield os.path.join(d, f)

for top in ("common", "cmd", "tests/unit", "tests/fuzz"):
    for path in sources(top):
        parts = path.split("/")
        layer = parts[1] if top == "common" else None
        if top == "common" and layer not in rank:
            breaches.append(f"{path}:1: folder '{layer}' is in no layer; add it to the table")
            continue
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().split("\n")
        count = len(lines) - (1 if lines[-1] == "" else 0)
        if count > 800:
            breaches.append(f"{path}:{count}: {count} lines; split it along its seams (at most 800)")
        for n, line in enumerate(lines, 1):
            m = include.match(line)
            if m and layer is not None:
                to = m.group(1)
                if to not in rank:
                    breaches.append(f"{path}:{n}: includes from 'common/{to}', which is in no layer")
                elif to != layer and rank[to] >= rank[layer]:
                    breaches.append(f"{path}:{n}: '{layer}' includes '{to}', which is not below it")
            if top == "cmd" and re.search(r"\brd_kafka_\w+\s*\(", line):
                breaches.append(f"{path}:{n}: a command calls librdkafka; move it to common/kafka")
            if (top in ("common", "cmd") and layer != "endpoint" and
                    re.search(r'(rfind|find|starts_with|compare|substr)\s*\(\s*"kafka:"', line)):
                breaches.append(f"{path}:{n}: reads 'kafka:' itself; ask common/endpoint")

for b in breaches:
    print(b)
if breaches:
    print(f"check-layers.sh: {len(breaches)} breach(es) of the code's shape", file=sys.stderr)
    sys.exit(1)
print("check-layers.sh: every include goes down the layers; no breach")
PY
