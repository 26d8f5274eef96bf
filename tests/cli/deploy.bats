#!/usr/bin/env bats
# deploy/: the Dockerfile, the compose file, the Grafana provisioning and dashboard, the
# Kubernetes manifests, checked statically (container.bats runs the image and the compose file
# with podman; no cluster here): the files are linted and checked for what they mean
# (tests/cli/deploy_check.py), every cdn command line in them is checked against the binary, and
# the dashboard's queries run against a real influxd filled by scripts/pipeline.sh and by the
# deployment's own service command lines, run natively.

load test_helper

bats_require_minimum_version 1.5.0

setup() {
  CHECK=(/usr/bin/python3 "$REPO_ROOT/tests/cli/deploy_check.py")
  VERSION=$(sed -n 's/^project(cdn VERSION \([0-9][0-9.]*\).*/\1/p' "$REPO_ROOT/CMakeLists.txt")
}

# compose_script SERVICE: the service's command as one bash script (a `bash -c` script as it
# is, with Compose's $$ unescaped; an argv quoted), its container paths made this machine's:
# /data and /models (the directory or a path in it) under $BATS_TEST_TMPDIR, what the image
# installs from the repository, and the container's --metrics-addr on every interface a free
# port of 127.0.0.1.
compose_script() {
  /usr/bin/python3 -c '
import shlex, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))["services"][sys.argv[2]]["command"]
print(c[-1].replace("$$", "$") if c[0] == "bash" else shlex.join(c))' \
    "$REPO_ROOT/deploy/docker-compose.yml" "$1" |
    sed -e "s|/data/|$BATS_TEST_TMPDIR/data/|g" \
      -e "s#/models\([/; ]\|\$\)#$BATS_TEST_TMPDIR/models\1#g" \
      -e "s|/usr/share/cdn/schemas/|$REPO_ROOT/schemas/|g" \
      -e "s|/usr/share/cdn/kafka-lag.jq|$REPO_ROOT/deploy/kafka-lag.jq|g" \
      -e "s|0\.0\.0\.0:9464|127.0.0.1:0|g"
}

# start_backends: a local cdn broker with cdn.toml's topics and a local influxd, then
# $BATS_TEST_TMPDIR/cdn.toml: deploy/cdn.toml with their addresses, and `cdn` on $CDN_PATH.
start_backends() {
  load broker_helper
  load influx_helper
  local topics=() t
  for t in $(/usr/bin/python3 -c 'import tomllib,sys; print(" ".join(tomllib.load(open(sys.argv[1],"rb"))["broker"]["topic"]))' \
    "$REPO_ROOT/deploy/cdn.toml"); do
    topics+=(--topic "$t")
  done
  # The mock keeps about 5 MiB a partition: a few thousand records fit.
  start_broker "${topics[@]}"
  start_influxd
  CONF=$BATS_TEST_TMPDIR/cdn.toml
  sed -e "s|\"kafka:9092\"|\"$CDN_BROKERS\"|" -e "s|\"http://influxdb:8086\"|\"$INFLUX_URL\"|" \
    "$REPO_ROOT/deploy/cdn.toml" >"$CONF"
  ! grep -qE 'kafka:9092|influxdb:8086' "$CONF"
  mkdir -p "$BATS_TEST_TMPDIR/bin"
  ln -s "$CDN" "$BATS_TEST_TMPDIR/bin/cdn"
  CDN_PATH=$BATS_TEST_TMPDIR/bin:$PATH
}

# as_deployed SCRIPT: execs bash with SCRIPT in the environment a cdn container has: CDN_CONFIG
# names cdn.toml and no other variable cdn reads is set. The brokers and influxd of this test
# are exported (CDN_BROKERS, INFLUX_URL) and would win over cdn.toml: they are unset, so the
# addresses come from cdn.toml, as in the deployment. It replaces the shell that calls it:
# call it in a subshell or in the background.
as_deployed() {
  local script=$1 conf=$CONF path=$CDN_PATH name
  while IFS= read -r name; do unset "$name"; done < <(cdn_env_names)
  export PATH=$path CDN_CONFIG=$conf
  exec bash -euo pipefail -c "$script"
}

# run_service SCRIPT: runs a service's script as the container would (as_deployed), and
# waits for its process substitution (the statistics loader) too: `exec cdn ... >(...)`
# becomes `cdn ... >(...); wait $!`.
run_service() {
  local script=$1
  if [[ $script == "exec "*">("* ]]; then
    script="${script#exec }; wait \$!"
  fi
  (as_deployed "$script")
}

# stop_tree PID: SIGTERM to PID, then waits (at most 20 s, then SIGKILL) for it and for the
# processes it had started (its process substitutions and their pipelines) to end.
stop_tree() {
  local pid=$1 p tree=() deadline
  for p in $(pgrep -P "$pid" || true); do
    tree+=("$p" $(pgrep -P "$p" || true))
  done
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  deadline=$((SECONDS + 20))
  for p in "${tree[@]}"; do
    while kill -0 "$p" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
}

influx_count() {
  influx_query cdn "SELECT count($2) FROM $1" | jq '.results[0].series[0].values[0][1] // 0'
}

@test "the project version is found in CMakeLists.txt" {
  [[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "every YAML file of deploy/ parses and passes yamllint" {
  local files
  mapfile -t files < <(find "$REPO_ROOT/deploy" -name '*.yml' -o -name '*.yaml' | sort)
  [ "${#files[@]}" -ge 8 ]
  run /usr/bin/python3 -c '
import sys, yaml
for f in sys.argv[1:]:
    docs = [d for d in yaml.safe_load_all(open(f)) if d is not None]
    assert docs, f + ": empty"
' "${files[@]}"
  assert_success
  run yamllint -s -c "$REPO_ROOT/deploy/.yamllint.yml" "${files[@]}"
  assert_success
  assert_output ''
}

@test "the compose file's Prometheus configuration passes promtool and scrapes every cdn service that serves --metrics-addr" {
  run promtool check config "$REPO_ROOT/deploy/prometheus/prometheus.yml"
  assert_success
  # every compose service whose command serves metrics is among the names Prometheus resolves
  run /usr/bin/python3 -c '
import sys, yaml
services = yaml.safe_load(open(sys.argv[1]))["services"]
serving = sorted(n for n, s in services.items() if "--metrics-addr" in str(s.get("command", "")))
prom = yaml.safe_load(open(sys.argv[2]))
names = sorted(n for job in prom["scrape_configs"] for sd in job.get("dns_sd_configs", []) for n in sd["names"])
print(" ".join(serving))
assert serving == names, (serving, names)
' "$REPO_ROOT/deploy/docker-compose.yml" "$REPO_ROOT/deploy/prometheus/prometheus.yml"
  assert_success
  assert_output "loader-predictions loader-records loader-rejects predictor"
}

@test "docker-compose accepts the compose file (its schema, interpolation, dependencies)" {
  cd "$REPO_ROOT"
  run docker-compose -f deploy/docker-compose.yml config -q
  assert_success
  assert_output ''
  # With CDN_VERSION set, every cdn service runs that tag: the way to roll back.
  CDN_VERSION=0.0.9 run docker-compose -f deploy/docker-compose.yml config
  assert_success
  assert_output --partial 'image: cdn:0.0.9'
  refute_output --partial "image: cdn:$VERSION"
}

@test "the compose file: images, mounts, ports on 127.0.0.1, KRaft, topics, cdn.toml, Grafana" {
  run "${CHECK[@]}" compose "$REPO_ROOT" "$VERSION"
  assert_success
  assert_output ''
}

@test "the compose check catches a service without an image, a port on every interface, a missing mount" {
  mkdir -p "$BATS_TEST_TMPDIR/repo"
  cp -r "$REPO_ROOT/deploy" "$BATS_TEST_TMPDIR/repo/"
  local f=$BATS_TEST_TMPDIR/repo/deploy/docker-compose.yml
  sed -i -e 's|image: grafana/grafana:.*|hostname: grafana|' \
    -e 's|"127.0.0.1:8086:8086"|"8086:8086"|' \
    -e 's|./grafana/dashboards:/var/lib/grafana/dashboards:ro|./no-such-dir:/var/lib/grafana/dashboards:ro|' "$f"
  sed -i 's/cdnrejects:1/cdnrejects:2/' "$BATS_TEST_TMPDIR/repo/deploy/cdn.toml"
  run "${CHECK[@]}" compose "$BATS_TEST_TMPDIR/repo" "$VERSION"
  assert_failure 1
  assert_output --partial 'grafana: neither image nor build'
  assert_output --partial 'port 8086:8086 is not bound to 127.0.0.1'
  assert_output --partial 'mounts ./no-such-dir, which does not exist'
  assert_output --partial 'kafka-init creates'
}

@test "the Kubernetes manifests: kustomization, ConfigMap from cdn.toml, mounts, replicas within partitions" {
  run "${CHECK[@]}" k8s "$REPO_ROOT" "$VERSION"
  assert_success
  assert_output ''
}

@test "the k8s check catches more predictors than partitions and a cdn.toml that drifted" {
  mkdir -p "$BATS_TEST_TMPDIR/repo"
  cp -r "$REPO_ROOT/deploy" "$BATS_TEST_TMPDIR/repo/"
  sed -i 's/^  replicas: 4$/  replicas: 9/' "$BATS_TEST_TMPDIR/repo/deploy/k8s/predictor.yaml"
  sed -i 's/maxReplicas: 8/maxReplicas: 12/' "$BATS_TEST_TMPDIR/repo/deploy/k8s/predictor-hpa.yaml"
  echo '# changed' >>"$BATS_TEST_TMPDIR/repo/deploy/cdn.toml"
  run "${CHECK[@]}" k8s "$BATS_TEST_TMPDIR/repo" "$VERSION"
  assert_failure 1
  assert_output --partial 'Deployment predictor: 9 replicas, cdndata has 8 partitions'
  assert_output --partial 'maxReplicas 12 above the 8 partitions of cdndata'
  assert_output --partial 'deploy/k8s/cdn.toml differs from deploy/cdn.toml'
}

@test "the k8s check catches distributed training whose workers, pods and tracker disagree" {
  mkdir -p "$BATS_TEST_TMPDIR/repo"
  cp -r "$REPO_ROOT/deploy" "$BATS_TEST_TMPDIR/repo/"
  local f=$BATS_TEST_TMPDIR/repo/deploy/k8s/train-distributed.yaml
  sed -i 's/^  parallelism: 4$/  parallelism: 3/' "$f"
  sed -i 's/value: train-tracker:9091/value: train-tracker:9092/' "$f"
  run "${CHECK[@]}" k8s "$BATS_TEST_TMPDIR/repo" "$VERSION"
  assert_failure 1
  assert_output --partial 'k8s Job train-distributed: completions 4, parallelism 3 and CDN_WORKERS 4 differ'
  assert_output --partial 'k8s Job train-distributed: CDN_TRACKER train-tracker:9092 is no Service port of the manifests'
  cp "$REPO_ROOT/deploy/k8s/train-distributed.yaml" "$f"
  sed -i 's/"--workers", "4"\]/"--workers", "2"]/' "$f"
  run "${CHECK[@]}" k8s "$BATS_TEST_TMPDIR/repo" "$VERSION"
  assert_failure 1
  assert_output --partial 'the tracker Deployment train-tracker does not wait for 4 workers'
}

# bats test_tags=kafka,xgboost,influx
@test "every cdn command line of the compose file and the manifests is a valid invocation" {
  run "${CHECK[@]}" commands "$REPO_ROOT"
  assert_success
  local lines_=("${lines[@]}") l cmds="" wheres=""
  [ "${#lines_[@]}" -ge 15 ]
  for l in "${lines_[@]}"; do
    run "${CHECK[@]}" check-argv "$CDN" "$REPO_ROOT/deploy/cdn.toml" "$(jq -c .argv <<<"$l")"
    [[ $status -eq 0 ]] || echo "$l: $output" >&2
    assert_success
    cmds+=" $(jq -r '.argv | map(select(startswith("-") | not))[1]' <<<"$l")"
    wheres+="$(jq -r .where <<<"$l");"
  done
  # the model's rollout and rollback verify the bundle with cdn predict, in both
  local w
  for w in "compose service trainer" "compose service promote" "compose service rollback" \
    "k8s Job train" "k8s CronJob retrain" "k8s CronJob promote" "k8s CronJob rollback"; do
    [[ ";$wheres" == *";$w;"* ]] || { echo "no cdn command line in $w" >&2; false; }
  done
  # The whole pipeline is there: the provider's four stages, training, the predictor, loaders.
  local c
  for c in sort tag validate produce train predict load-influx; do
    [[ " $cmds " == *" $c "* ]] || { echo "no cdn $c" >&2; false; }
  done
}

# bats test_tags=kafka,xgboost,influx
@test "the command-line check catches an unknown option, a bad value, a topic not created" {
  run "${CHECK[@]}" check-argv "$CDN" "$REPO_ROOT/deploy/cdn.toml" \
    '["cdn","predict","-m","/models/current","kafka:cdndata","--no-such-option"]'
  assert_failure 1
  assert_output --partial 'cdn predict has no option --no-such-option'
  run "${CHECK[@]}" check-argv "$CDN" "$REPO_ROOT/deploy/cdn.toml" \
    '["cdn","load-influx","kafka:cdnraw","--precision","days"]'
  assert_failure 1
  assert_output --partial 'days not in'
  run "${CHECK[@]}" check-argv "$CDN" "$REPO_ROOT/deploy/cdn.toml" \
    '["cdn","predict","kafka:cdndata","-o","kafka:results"]'
  assert_failure 1
  assert_output --partial '--model is required'
  assert_output --partial "topic results is not one of cdn.toml's [broker] topics"
}

@test "the Dockerfile's build stage installs the build packages of scripts/setup.sh" {
  run "${CHECK[@]}" setup-build-packages "$REPO_ROOT"
  assert_success
  local setup
  setup=$(sort <<<"$output")
  [[ $setup == *libxgboost-dev* && $setup == *cmake* ]]
  run "${CHECK[@]}" dockerfile "$REPO_ROOT"
  assert_success
  local build
  build=$(sed '/^--$/,$d' <<<"$output" | sort)
  [ "$build" = "$setup" ] || {
    diff <(echo "$setup") <(echo "$build") >&2
    false
  }
  # Every one of them is in setup.sh's list.
  run bash -c "comm -23 <(echo '$build') <(bash '$REPO_ROOT/scripts/setup.sh' --list | sort)"
  assert_output ''
}

@test "the Dockerfile's runtime stage installs the package of every library the binary links" {
  run "${CHECK[@]}" dockerfile "$REPO_ROOT"
  assert_success
  local runtime
  runtime=$(sed '1,/^--$/d' <<<"$output")
  local lib path pkg needed=()
  while read -r lib; do
    path=$(ldd "$CDN" | awk -v l="$lib" '$1 == l { print $3 }')
    [ -n "$path" ]
    pkg=$({ dpkg -S "$path" || dpkg -S "$(realpath "$path")" ||
      dpkg -S "$(realpath "$path" | sed 's|^/usr||')"; } 2>/dev/null | head -n 1 | cut -d: -f1)
    [ -n "$pkg" ] || { echo "no package holds $lib ($path)" >&2; false; }
    needed+=("$pkg")
  done < <(readelf -d "$CDN" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
  [ "${#needed[@]}" -ge 5 ]
  for pkg in "${needed[@]}"; do
    [[ $pkg == libc6 ]] && continue # the C library of every Debian image
    # The sanitizers' runtimes of a `scripts/test.sh --sanitize` build, which no image ships.
    [[ ${CDN_TEST_SANITIZE:-} == 1 && $pkg =~ ^lib(asan|ubsan)[0-9]+$ ]] && continue
    grep -qx "$pkg" <<<"$runtime" || { echo "the runtime stage lacks $pkg" >&2; false; }
  done
}

@test "the Dockerfile: a build stage, the tracker's and the runtime's (the default) on Debian 12, a non-root user, the version label, what the image ships" {
  local f=$REPO_ROOT/deploy/Dockerfile
  run grep -E '^FROM ' "$f"
  assert_line --index 0 'FROM debian:${DEBIAN_RELEASE} AS build'
  assert_line --index 1 'FROM debian:${DEBIAN_RELEASE}-slim AS tracker'
  # the last stage is what a build without --target makes: the cdn image, without the
  # tracker's Python
  assert_line --index 2 'FROM debian:${DEBIAN_RELEASE}-slim AS runtime'
  [[ ${#lines[@]} -eq 3 ]]
  [[ $(sed -n '/AS runtime/,$p' "$f") != *python3-xgboost* ]]
  grep -qx 'ARG DEBIAN_RELEASE=12' "$f"
  grep -qx "ARG CDN_VERSION=$VERSION" "$f"
  grep -qE '^USER cdn' "$f"
  grep -qx 'ENV CDN_CONFIG=/etc/cdn/cdn.toml' "$f"
  # What the build stage installs (cmake --install with the prefix /usr) is the binary, the
  # schemas at the path compiled in, the man pages; the lag filter is copied next to them.
  grep -q 'CMAKE_INSTALL_PREFIX=/usr' "$f"
  grep -q 'deploy/kafka-lag.jq /out/usr/share/cdn/kafka-lag.jq' "$f"
  DESTDIR="$BATS_TEST_TMPDIR/out" run cmake --install "$(dirname "$CDN")" --prefix /usr
  assert_success
  [ -x "$BATS_TEST_TMPDIR/out/usr/bin/cdn" ]
  [ -f "$BATS_TEST_TMPDIR/out/usr/share/cdn/schemas/cdn-data.json" ]
  [ -f "$BATS_TEST_TMPDIR/out/usr/share/man/man1/cdn-predict.1.gz" ] || [ -f "$BATS_TEST_TMPDIR/out/usr/share/man/man1/cdn-predict.1" ]
  # The files the image copies from the context are not excluded by its .dockerignore.
  run grep -E '^(deploy|schemas|man|cmd|common|scripts|CMakeLists.txt)' "$REPO_ROOT/deploy/Dockerfile.dockerignore"
  assert_failure
}

@test "the dashboard: valid JSON, every panel says where its series come from" {
  local f
  for f in "$REPO_ROOT"/deploy/grafana/dashboards/*.json; do
    run jq -e '.uid and .title and (.panels | length >= 5)
      and all(.panels[]; (.description | length > 40) and (.targets | length >= 1)
        and all(.targets[]; if .datasource.type == "prometheus" then (.expr | length > 0)
          else .rawQuery == true and (.query | test("\\$timeFilter")) end))' "$f"
    assert_success
    # panels from both datasources: InfluxDB (the records) and Prometheus (the services)
    run jq -e '[.panels[].datasource.type] | (index("influxdb") != null) and (index("prometheus") != null)' "$f"
    assert_success
  done
}

@test "the dashboard shows the model in use and its swaps, the shadow's agreement and scores, and drift per feature and of the score against a 0.2 line" {
  local f=$REPO_ROOT/deploy/grafana/dashboards/cdn-pipeline.json
  # panel title -> the metrics its queries read, in order
  run jq -r '.panels[] | select(.datasource.type == "prometheus") | "\(.title): \([.targets[].expr | scan("cdn_[a-z_]+")] | unique | join(" "))"' "$f"
  assert_success
  assert_line 'Model in use and swaps (Prometheus): cdn_model_info cdn_model_swaps_total'
  assert_line 'Shadow agreement (Prometheus): cdn_shadow_abs_difference_total cdn_shadow_agreements_total cdn_shadow_predictions_total'
  assert_line 'Shadow score distribution (Prometheus): cdn_shadow_score_bucket'
  assert_line 'Feature drift, PSI (Prometheus): cdn_feature_drift_psi'
  assert_line 'Score drift, PSI (Prometheus): cdn_score_drift_psi'
  # models by hash, swaps by result, drift by feature; both drift panels draw the line at 0.2
  run jq -r '.panels[] | select(.title | test("Model in use|drift")) | .targets[].expr' "$f"
  assert_line 'count by (hash) (cdn_model_info)'
  assert_line 'sum by (result) (increase(cdn_model_swaps_total[5m]))'
  assert_line 'max by (feature) (cdn_feature_drift_psi)'
  run jq -c '[.panels[] | select(.title | test("drift, PSI")) | [.fieldConfig.defaults.thresholds.steps[-1].value, .fieldConfig.defaults.custom.thresholdsStyle.mode]]' "$f"
  assert_output '[[0.2,"line+area"],[0.2,"line+area"]]'
  # panels do not overlap
  run jq -e '[.panels[].gridPos | [range(.x; .x + .w) as $x | range(.y; .y + .h) as $y | [$x, $y]]] | flatten(1) | length == (unique | length)' "$f"
  assert_success
}

@test "every metric the dashboards query is exported by the code, or listed in one place as not yet there" {
  run --separate-stderr "${CHECK[@]}" dashboard-metrics "$REPO_ROOT"
  assert_success
  assert_equal "$stderr" ''
  assert_line cdn_model_info
  assert_line cdn_model_swaps_total
  assert_line cdn_shadow_agreements_total
  assert_line cdn_shadow_score
  # drift monitoring is built apart: until its metrics are in the code, they are listed
  local m
  for m in cdn_feature_drift_psi cdn_score_drift_psi; do
    if grep -rqw "$m" "$REPO_ROOT/common" "$REPO_ROOT/cmd"; then
      assert_line "$m"
    else
      assert_line "$m (not yet in the code)"
    fi
  done
}

@test "the metric check catches a dashboard metric no code exports, and a listed one the code now exports" {
  mkdir -p "$BATS_TEST_TMPDIR/repo"
  cp -r "$REPO_ROOT/deploy" "$REPO_ROOT/common" "$REPO_ROOT/cmd" "$BATS_TEST_TMPDIR/repo/"
  sed -i 's/cdn_shadow_agreements_total/cdn_shadow_agreement_total/' \
    "$BATS_TEST_TMPDIR/repo/deploy/grafana/dashboards/cdn-pipeline.json"
  # the first name still listed as not yet in the code, if any, arrives in the code
  local pending
  pending=$(cd "$REPO_ROOT/tests/cli" && /usr/bin/python3 -c 'import deploy_check as d; print(min(d.METRICS_NOT_YET_IN_CODE, default=""))')
  [[ -z $pending ]] || printf 'const char* kName = "%s";\n' "$pending" >"$BATS_TEST_TMPDIR/repo/common/arrived.cpp"
  run --separate-stderr "${CHECK[@]}" dashboard-metrics "$BATS_TEST_TMPDIR/repo"
  assert_failure 1
  [[ $stderr == *"panel 'Shadow agreement (Prometheus)' query A: cdn_shadow_agreement_total is exported nowhere in common/ or cmd/"* ]]
  [[ -z $pending || $stderr == *"$pending is exported by the code now: take it out of METRICS_NOT_YET_IN_CODE"* ]]
}

@test "the k8s check catches a serving container without its readiness probe, a probe on the wrong path, annotations on another port" {
  mkdir -p "$BATS_TEST_TMPDIR/repo"
  cp -r "$REPO_ROOT/deploy" "$BATS_TEST_TMPDIR/repo/"
  local k=$BATS_TEST_TMPDIR/repo/deploy/k8s
  sed -i '/readinessProbe:/,+2d' "$k/predictor.yaml"
  sed -i -e '0,/path: \/healthz,/s//path: \/metrics,/' -e '0,/prometheus.io\/port: "9464"/s//prometheus.io\/port: "9465"/' \
    "$k/loaders.yaml"
  run "${CHECK[@]}" k8s "$BATS_TEST_TMPDIR/repo" "$VERSION"
  assert_failure 1
  assert_output --partial "k8s Deployment predictor: container predictor has no readinessProbe on /readyz of its metrics port (it has none)"
  assert_output --partial "k8s Deployment loader-records: container loader-records has no livenessProbe on /healthz of its metrics port"
  assert_output --partial "k8s Deployment loader-records: the pod's prometheus.io annotations do not name port 9464 and /metrics"
  refute_output --partial "loader-predictions"
}

@test "the k8s check catches a rollout job whose script is not the compose service's, and a missing rollback" {
  mkdir -p "$BATS_TEST_TMPDIR/repo"
  cp -r "$REPO_ROOT/deploy" "$BATS_TEST_TMPDIR/repo/"
  sed -i 's/mv -T current.tmp current;/mv current.tmp current;/' "$BATS_TEST_TMPDIR/repo/deploy/k8s/model-rollout.yaml"
  sed -i 's/^  name: rollback$/  name: undo/' "$BATS_TEST_TMPDIR/repo/deploy/k8s/model-rollout.yaml"
  run "${CHECK[@]}" k8s "$BATS_TEST_TMPDIR/repo" "$VERSION"
  assert_failure 1
  assert_output --partial "k8s CronJob promote: its command is not the compose service's promote"
  assert_output --partial "k8s: no workload rollback"
}

# bats test_tags=xgboost
@test "the rollout and the rollback of the compose file and the manifests flip /models/current under a running predictor: its predictions carry the new model's hash, then the old one's" {
  local t=$BATS_TEST_TMPDIR m=$BATS_TEST_TMPDIR/models
  mkdir -p "$m" "$t/bin"
  ln -s "$CDN" "$t/bin/cdn"
  CONF=$REPO_ROOT/deploy/cdn.toml CDN_PATH=$t/bin:$PATH
  # two versions side by side, current -> v1, as the trainer leaves the first one
  cdn gen -q --rows 1500 --seed 41 -f csv -o "$t/train.csv"
  cdn train -q --schema "$REPO_ROOT/schemas/cdn-data.json" --rounds 3 "$t/train.csv" -o "$m/v1"
  cdn train -q --schema "$REPO_ROOT/schemas/cdn-data.json" --rounds 6 "$t/train.csv" -o "$m/v2"
  ln -s v1 "$m/current"
  local v1 v2
  v1=$(jq -r .model_hash "$m/v1/manifest.json")
  v2=$(jq -r .model_hash "$m/v2/manifest.json")
  [[ $v1 != "$v2" ]]
  cdn gen -q --rows 300 --seed 42 --no-label | cdn tag -q >"$t/live.ndjson"
  # the predictor reads -m /models/current from a pipe, a batch of a record at a time
  mkfifo "$t/feed"
  "$CDN" predict -m "$m/current" --batch-size 1 <"$t/feed" >"$t/out.ndjson" 2>"$t/err" &
  BG_PID=$!
  exec 4>"$t/feed"
  sed -n '1,100p' "$t/live.ndjson" >&4
  wait_lines "$t/out.ndjson" 100 30 "$BG_PID"
  # the rollout, as the compose service promote runs it: verified, previous kept, current flipped
  local n
  n=$(wc -l <"$t/err")
  MODEL_VERSION=v2 run --separate-stderr run_service "$(compose_script promote)"
  assert_success
  assert_output "promote: $m/current is v2"
  assert_equal "$(readlink "$m/current") $(readlink "$m/previous")" "v2 v1"
  # the predictor sees the path change by itself, loads v2 on the side, and it takes over
  wait_lines "$t/err" $((n + 1)) 30 "$BG_PID"
  run sed -n "$((n + 1))p" "$t/err"
  assert_output "cdn predict: loaded the model $v2 from '$m/current'; it takes over at the next record"
  sed -n '101,200p' "$t/live.ndjson" >&4
  wait_lines "$t/out.ndjson" 200 30 "$BG_PID"
  # the rollback, as the compose service rollback runs it
  n=$(wc -l <"$t/err")
  run --separate-stderr run_service "$(compose_script rollback)"
  assert_success
  assert_output "rollback: $m/current is v1"
  assert_equal "$(readlink "$m/current") $(readlink "$m/previous")" "v1 v2"
  wait_lines "$t/err" $((n + 1)) 30 "$BG_PID"
  run sed -n "$((n + 1))p" "$t/err"
  assert_output "cdn predict: loaded the model $v1 from '$m/current'; it takes over at the next record"
  sed -n '201,300p' "$t/live.ndjson" >&4
  exec 4>&-
  wait "$BG_PID"
  unset BG_PID
  # every record predicted once, in order: 100 by v1, 100 by v2, 100 by v1 again
  assert_equal "$(jq -r .sampleID "$t/out.ndjson" | tr '\n' ' ')" "$(seq -s ' ' 300) "
  run bash -c "jq -r .model '$t/out.ndjson' | uniq -c | awk '{ print \$1, \$2 }'"
  assert_output "100 $v1
100 $v2
100 $v1"
  # a version that is not a bundle is not rolled out
  mkdir "$m/v3"
  MODEL_VERSION=v3 run --separate-stderr run_service "$(compose_script promote)"
  assert_failure
  assert_equal "$(readlink "$m/current")" v1
  run --separate-stderr run_service "$(compose_script promote)"
  assert_failure
  [[ $stderr == *"MODEL_VERSION: name the bundle directory of $m to roll out, e.g. v2"* ]]
}

# The dashboard's queries against data: scripts/pipeline.sh fills the measurements cdn and
# prediction; the deployment's own command lines (compose), run natively on this machine with
# cdn.toml's addresses pointed at a local cdn broker and influxd, fill reject (the provider's
# validate stage and loader-rejects) and kafka_consumer (the predictor's statistics through
# deploy/kafka-lag.jq).
# bats test_tags=kafka,xgboost,influx
@test "the compose services' command lines run the pipeline natively: data, model, provider, predictor, loaders" {
  start_backends
  mkdir -p "$BATS_TEST_TMPDIR/data" "$BATS_TEST_TMPDIR/models"
  local demo
  demo=$(compose_script demo-data | sed -e 's/--rows 200000/--rows 3000/' -e 's/--rows 100000/--rows 2000/')
  run_service "$demo"
  [ "$(wc -l <"$BATS_TEST_TMPDIR/data/test.csv")" -eq 2001 ]
  run --separate-stderr run_service "$(compose_script trainer)"
  assert_success
  [ -n "$(ls "$BATS_TEST_TMPDIR/models/current")" ]
  # The provider: sort | tag | validate | produce, to both topics named in [produce].
  run --separate-stderr run_service "$(compose_script provider)"
  assert_success
  [[ $stderr == *"cdn validate: 2000 in, 2000 out, 0 rejected"* ]]
  [[ $stderr =~ cdn\ produce:\ 2000\ in,\ 2000\ out,\ 0\ rejected.*4000\ delivered|2000\ delivered\ to\ .cdndata.*2000\ delivered\ to\ .cdnraw. ]] || {
    echo "$stderr" >&2
    false
  }
  # The consumers as deployed, told to stop at the end of their topics (-e).
  local s
  for s in predictor loader-records loader-predictions; do
    local script
    script=$(compose_script "$s" | sed -e 's/exec cdn predict /exec cdn predict -e /' \
      -e 's/exec cdn load-influx /exec cdn load-influx -e /' \
      -e 's/--stats-interval 10s/--stats-interval 500ms/')
    [[ $script == *"exec cdn "*" -e "* ]]
    run --separate-stderr run_service "$script"
    [[ $status -eq 0 ]] || echo "$s: $stderr" >&2
    assert_success
  done
  [ "$(influx_count cdn bytes_sent)" -eq 2000 ]
  [ "$(influx_count prediction prediction)" -eq 2000 ]
  # The telemetry is tagged as cdn.toml's [load-influx] says.
  run influx_query cdn 'SHOW TAG KEYS FROM cdn'
  local k
  for k in pop country device content_type cache_status; do
    assert_output --partial "\"$k\""
  done
}

# The dashboard's queries against data: scripts/pipeline.sh fills the measurements cdn and
# prediction; the deployment's own command lines, run natively with cdn.toml's addresses
# pointed at a local cdn broker and influxd, fill reject (the provider's validate stage and
# loader-rejects) and kafka_consumer (the predictor's statistics through kafka-lag.jq).
# bats test_tags=kafka,xgboost,influx
@test "every query of every dashboard returns data from a pipeline run and the deployment's services" {
  start_backends
  local out=$BATS_TEST_TMPDIR/out
  run --separate-stderr env CDN_BIN="$CDN" CDN_BROKERS="$CDN_BROKERS" INFLUX_URL="$INFLUX_URL" \
    bash "$REPO_ROOT/scripts/pipeline.sh" --rows 2000 --train-rows 3000 --out "$out/p.ndjson"
  [[ $status -eq 0 ]] || echo "$stderr" >&2
  assert_success
  assert_line --partial 'database cdn: 2000 records, 2000 predictions'

  # Rejects: dirty records through the provider's validate stage, then loader-rejects.
  local validate
  validate=$(compose_script provider | grep -o 'cdn validate [^|]*')
  [ -n "$validate" ]
  "$CDN" -q gen --rows 300 --dirty 0.2 --seed 5 >"$BATS_TEST_TMPDIR/dirty.ndjson"
  run --separate-stderr run_service "$validate -q >/dev/null" <"$BATS_TEST_TMPDIR/dirty.ndjson"
  assert_failure 1
  run --separate-stderr run_service "$(compose_script loader-rejects) -e"
  assert_success
  [[ $stderr =~ cdn\ load-influx:\ [1-9][0-9]*\ in,\ [1-9][0-9]*\ out,\ 0\ rejected ]]

  # Consumer lag: the predictor as deployed, its model the pipeline's, its statistics every
  # 200 ms instead of 10 s; it runs until its lag is in InfluxDB.
  local predictor
  predictor=$(compose_script predictor | sed -e "s|$BATS_TEST_TMPDIR/models/current|$out/model|" \
    -e 's/--stats-interval 10s/--stats-interval 200ms/')
  [[ $predictor == *"--stats-interval 200ms "* && $predictor == *"-m $out/model "* ]]
  # Started as the container starts it: bash execs cdn predict, so $! is cdn predict.
  as_deployed "$predictor" >"$BATS_TEST_TMPDIR/predictor.log" 2>&1 3>&- &
  BG_PID=$!
  local pid=$BG_PID n=0 deadline=$((SECONDS + 60))
  while ((SECONDS < deadline)); do
    n=$(influx_count kafka_consumer consumer_lag)
    ((n > 0)) && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  stop_tree "$pid"
  unset BG_PID
  ((n > 0)) || {
    cat "$BATS_TEST_TMPDIR/predictor.log" >&2
    false
  }
  stop_broker

  run "${CHECK[@]}" dashboard-queries "$INFLUX_URL" cdn "$REPO_ROOT"/deploy/grafana/dashboards/*.json
  [[ $status -eq 0 ]] || echo "$output" >&2
  assert_success
  assert_output --partial "panel 'Consumer lag' query A"
  assert_output --partial "panel 'Rejects by stage' query A"
  refute_output --partial 'no data'
}

teardown() {
  if [[ -n ${BG_PID:-} ]]; then stop_tree "$BG_PID"; fi
  if declare -F stop_broker >/dev/null; then stop_broker || true; fi
  if declare -F stop_influxd >/dev/null; then stop_influxd; fi
}
