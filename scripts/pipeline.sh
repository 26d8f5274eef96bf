#!/usr/bin/env bash
# Runs the cdn pipeline on this machine: installs what is missing (scripts/setup.sh),
# builds the release binary, then streams synthetic telemetry through the stages
#
#   cdn gen --rows N | cdn sort | cdn tag | cdn validate -o OUT
#   cdn produce -t cdndata -t cdnraw OUT          (the Data Provider's two topics)
#   cdn consume -t cdnraw -e                      (read back, to check nothing was lost)
#
# and prints how many records each stage read, wrote and rejected. Kafka is $CDN_BROKERS
# when set; otherwise a local `cdn broker` on 127.0.0.1 is started and stopped. Rejected records go to
# one file per stage next to OUT (rejects-STAGE.ndjson). A stage that rejects records
# exits 1 and the pipeline goes on; any other failure stops it with that stage's status.
#
# Usage: scripts/pipeline.sh [--rows N] [--out PATH]
#   --rows N     records to generate (default 100000)
#   --out PATH   where the tagged, validated records go (default out/pipeline.ndjson)
set -euo pipefail

usage() { sed -n 's/^# \{0,1\}//; 2,/^  --out/p' "${BASH_SOURCE[0]}"; }
die() {
  echo "pipeline.sh: $1" >&2
  exit "${2:-2}"
}

rows=100000
out=out/pipeline.ndjson
while [[ $# -gt 0 ]]; do
  case $1 in
    --rows) [[ $# -ge 2 ]] || die "--rows needs a value"; rows=$2; shift 2 ;;
    --rows=*) rows=${1#*=}; shift ;;
    --out) [[ $# -ge 2 ]] || die "--out needs a value"; out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1'; see 'scripts/pipeline.sh --help'" ;;
  esac
done
[[ $rows =~ ^[0-9]+$ ]] || die "bad row count '$rows'; give a whole number"
[[ -n $out && $out != - ]] || die "--out needs a file path"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" --preset release >&2
cdn="$root/build/release/cdn"

outdir="$(dirname "$out")"
mkdir -p "$outdir"
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

stages=(gen sort tag validate)
start=$EPOCHREALTIME
set +e
"$cdn" gen --rows "$rows" --rejects "$outdir/rejects-gen.ndjson" 2>"$logs/gen" |
  "$cdn" sort --rejects "$outdir/rejects-sort.ndjson" 2>"$logs/sort" |
  "$cdn" tag --rejects "$outdir/rejects-tag.ndjson" 2>"$logs/tag" |
  "$cdn" validate --schema "$root/schemas/cdn-data.json" -o "$out" \
    --rejects "$outdir/rejects-validate.ndjson" 2>"$logs/validate"
status=("${PIPESTATUS[@]}")
set -e
# Stages still to join, in this order, each checked the same way:
#   predict      cdn predict --model MODEL_DIR kafka:cdndata -o kafka:cdnresult
#   load-influx  influxd on 127.0.0.1 with a temporary data directory, then
#                cdn load-influx kafka:cdnresult and cdn load-influx kafka:cdnraw

# Kafka: the given brokers, or a local cdn broker for this run (16 partitions a topic: the
# mock keeps about 5 MiB a partition).
if [[ ${status[0]} -le 1 && ${status[1]} -le 1 && ${status[2]} -le 1 && ${status[3]} -le 1 ]]; then
  if [[ -z ${CDN_BROKERS:-} ]]; then
    mkfifo "$logs/broker.ctl"
    "$cdn" broker --topic cdndata:16 --topic cdnraw:16 <"$logs/broker.ctl" >"$logs/broker.out" 2>"$logs/broker" &
    broker_pid=$!
    exec 9>"$logs/broker.ctl"  # keeps the broker's stdin open
    trap 'kill -TERM "$broker_pid" 2>/dev/null; wait "$broker_pid" 2>/dev/null; rm -rf "$logs"' EXIT
    for _ in $(seq 100); do
      grep -q '^BROKERS=' "$logs/broker.out" 2>/dev/null && break
      sleep 0.1
    done
    CDN_BROKERS=$(sed -n 's/^BROKERS=//p' "$logs/broker.out")
    [[ -n $CDN_BROKERS ]] || die "cdn broker did not start: $(cat "$logs/broker")" 3
    echo "pipeline.sh: started a local cdn broker at $CDN_BROKERS" >&2
  fi
  export CDN_BROKERS
  stages+=(produce consume)
  set +e
  "$cdn" produce -t cdndata -t cdnraw --key-field sampleID --timestamp-field timestamp \
    --rejects "$outdir/rejects-produce.ndjson" "$out" 2>"$logs/produce"
  status+=($?)
  "$cdn" consume -t cdnraw -e -o "$outdir/cdnraw.ndjson" \
    --rejects "$outdir/rejects-consume.ndjson" 2>"$logs/consume"
  status+=($?)
  set -e
fi
end=$EPOCHREALTIME

failed=0
for i in "${!stages[@]}"; do
  s=${status[i]}
  case $s in
    0) ;;
    1) echo "pipeline.sh: cdn ${stages[i]} rejected records; see $outdir/rejects-${stages[i]}.ndjson" >&2 ;;
    *)
      echo "pipeline.sh: cdn ${stages[i]} failed with status $s:" >&2
      sed 's/^/  /' "$logs/${stages[i]}" >&2
      [[ $failed -ne 0 ]] || failed=$s
      ;;
  esac
done
[[ $failed -eq 0 ]] || exit "$failed"

# Each stage's summary line: "cdn sort: 100000 in, 100000 out, 0 rejected in 0.41 s".
printf '%-8s %12s %12s %12s\n' stage in out rejected
for st in "${stages[@]}"; do
  line=$(grep -E "^cdn $st: [0-9]+ in, [0-9]+ out, [0-9]+ rejected" "$logs/$st" | tail -n 1 || true)
  [[ -n $line ]] || die "cdn $st printed no summary line" 3
  read -r n_in n_out n_rej < <(sed -E 's/^cdn [a-z-]+: ([0-9]+) in, ([0-9]+) out, ([0-9]+) rejected.*/\1 \2 \3/' <<<"$line")
  printf '%-8s %12s %12s %12s\n' "$st" "$n_in" "$n_out" "$n_rej"
done
records=$(wc -l <"$out")
echo "output:  $out ($((records)) records)"
if [[ -f $outdir/cdnraw.ndjson ]]; then
  echo "kafka:   $CDN_BROKERS, topics cdndata and cdnraw; cdnraw read back into $outdir/cdnraw.ndjson ($(wc -l <"$outdir/cdnraw.ndjson") records)"
fi
for st in "${stages[@]}"; do
  if [[ -s $outdir/rejects-$st.ndjson ]]; then
    echo "rejects: $outdir/rejects-$st.ndjson"
  else
    rm -f "$outdir/rejects-$st.ndjson"
  fi
done
awk -v s="$start" -v e="$end" 'BEGIN { printf "elapsed: %.2f s\n", e - s }'
