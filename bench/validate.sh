#!/usr/bin/env bash
# Benchmarks `cdn validate` against the validators people use, in one run, on the same
# generated input (1,000,000 records against schemas/cdn-data.json by default):
#   - the ajv library (8.x with ajv-formats) driven over the lines by bench/ajv-lines.js
#     (installed from npm into bench/node_modules, nowhere else);
#   - Python's jsonschema (Debian's python3-jsonschema), on the first --python-rows lines
#     (it runs at about 16k records/s; the rate is what is compared).
#
#   bench/validate.sh [--rows N] [--dirty P] [--python-rows N] [--repeat R] [--dir DIR]
#
# Prints wall seconds, records per second and peak RSS of each, the ratio of cdn's throughput
# to each, and checks that all three count the same valid and invalid records.
set -euo pipefail

rows=1000000
dirty=0
python_rows=100000
repeat=1
dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows="$2"; shift 2 ;;
    --dirty) dirty="$2"; shift 2 ;;
    --python-rows) python_rows="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "bench/validate.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
cdn="${CDN_BIN:-$root/build/release/cdn}"
schema="$root/schemas/cdn-data.json"
[ -x "$cdn" ] || { echo "bench/validate.sh: no binary at '$cdn'; run scripts/build.sh first" >&2; exit 2; }
for tool in node npm /usr/bin/python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/validate.sh: '$tool' is missing (apt-get install nodejs npm)" >&2; exit 2; }
done
if [ ! -d "$root/bench/node_modules/ajv" ] || [ ! -d "$root/bench/node_modules/ajv-formats" ]; then
  echo "bench/validate.sh: installing ajv into bench/node_modules (npm)" >&2
  (cd "$root/bench" && npm install --no-audit --no-fund --no-save --silent ajv@8.17.1 ajv-formats@3.0.1) >&2
fi

if [ -z "$dir" ]; then
  dir="$(mktemp -d "${TMPDIR:-/tmp}/cdn-bench.XXXXXX")"
  trap 'rm -rf "$dir"' EXIT
fi
data="$dir/data.ndjson"
"$cdn" -q gen --rows "$rows" --seed 42 --dirty "$dirty" -o "$data"
head -n "$python_rows" "$data" >"$dir/python.ndjson"
echo "input: $rows records ($((($(stat -c %s "$data")) / 1000000)) MB), --dirty $dirty; $(nproc) cores" >&2

# measure NAME RECORDS COMMAND: best of --repeat; prints the figures, keeps stdout in $dir/out.
measure() {
  local name="$1" records="$2" cmd="$3" best="" rss=""
  for _ in $(seq "$repeat"); do
    /usr/bin/time -f '%e %M' -o "$dir/time" bash -c "$cmd" >"$dir/out" 2>"$dir/err" || true
    read -r secs kb < <(tail -n 1 "$dir/time")
    if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$secs; rss=$kb; fi
  done
  local rate
  rate=$(awk -v n="$records" -v s="$best" 'BEGIN{printf "%.0f", n / (s > 0 ? s : 0.001)}')
  printf '%s|%s|%s|%s|%s\n' "$name" "$records" "$best" "$rate" "$((rss / 1024))"
}

cdn_row=$(measure "cdn validate" "$rows" \
  "'$cdn' validate -q --schema '$schema' --rejects '$dir/rejects' -o '$dir/valid' '$data'")
cdn_counts="valid $(wc -l <"$dir/valid") invalid $(wc -l <"$dir/rejects")"
ajv_row=$(measure "ajv 8 (node, JSON.parse + validate)" "$rows" "node '$root/bench/ajv-lines.js' '$schema' '$data'")
ajv_counts=$(cat "$dir/out")
py_row=$(measure "python3-jsonschema (json.loads + is_valid)" "$python_rows" \
  "/usr/bin/python3 '$root/bench/jsonschema-lines.py' '$schema' '$dir/python.ndjson'")
py_counts=$(cat "$dir/out")
"$cdn" validate -q --schema "$schema" --rejects "$dir/r2" -o "$dir/v2" "$dir/python.ndjson" || true
cdn_py_counts="valid $(wc -l <"$dir/v2") invalid $(wc -l <"$dir/r2")"

cdn_rate=$(cut -d'|' -f4 <<<"$cdn_row")
echo
echo "| validator | records | seconds | records/s | peak RSS MB | cdn is faster by |"
echo "|---|---:|---:|---:|---:|---:|"
for row in "$cdn_row" "$ajv_row" "$py_row"; do
  IFS='|' read -r name n secs rate mb <<<"$row"
  ratio=$(awk -v a="$cdn_rate" -v b="$rate" 'BEGIN{printf "%.2fx", a / b}')
  [ "$name" = "cdn validate" ] && ratio="—"
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$n" "$secs" "$rate" "$mb" "$ratio"
done
echo
echo "counts: cdn $cdn_counts; ajv $ajv_counts; on the first $python_rows lines cdn $cdn_py_counts, python $py_counts"
