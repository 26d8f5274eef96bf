#!/usr/bin/env bats
# deploy/ run for real: the image built from deploy/Dockerfile with Debian's podman (the base
# images made by debootstrap, no registry), the compose services' command lines started in it
# against a cdn broker and an influxd of the test, the compose file brought up offline with
# Debian's podman-compose, and a release rolled back while records flow. The image is built
# once per change of its inputs (deploy/podman/build-image.sh) and reused otherwise; setup_file
# prints which, and how long the build took, to the TAP stream.
#
# Never skipped: when podman cannot run here, every test fails with the reason.
# bats file_tags=container,kafka,xgboost,influx

load test_helper
load container_helper
load broker_helper
load influx_helper

bats_require_minimum_version 1.5.0

setup_file() {
  VERSION=$(sed -n 's/^project(cdn VERSION \([0-9][0-9.]*\).*/\1/p' "$REPO_ROOT/CMakeLists.txt")
  # The release a rollback goes back to: the same sources under an older version label.
  PREVIOUS=0.0.9
  IMAGE=localhost/cdn:$VERSION
  export VERSION PREVIOUS IMAGE
  local err=$BATS_FILE_TMPDIR/podman.err
  if ! bash "$REPO_ROOT/deploy/podman/base-image.sh" 2>"$err" || ! podman_works 2>>"$err"; then
    echo "podman cannot run the container tests here: $(cat "$err")" >"$BATS_FILE_TMPDIR/broken"
    return 0
  fi
  if ! build_image --tag "$IMAGE" 2>"$err"; then
    echo "the image did not build: $(tail -n 30 "$err")" >"$BATS_FILE_TMPDIR/broken"
  fi
}

setup() {
  if [[ -f $BATS_FILE_TMPDIR/broken ]]; then
    fail "$(cat "$BATS_FILE_TMPDIR/broken")"
  fi
  T=$BATS_TEST_TMPDIR
}

teardown() {
  remove_containers
  if [[ -n ${COMPOSE_FILE:-} ]]; then
    podman-compose --podman-path "$REPO_ROOT/deploy/podman/podman-hostnet.sh" \
      -f "$COMPOSE_FILE" -p "$PROJECT" down -v >/dev/null 2>&1 || true
    podman volume rm -f "${PROJECT}_models" "${PROJECT}_influxdb-data" >/dev/null 2>&1 || true
    # the network podman-compose makes though no container joins it (podman-hostnet.sh)
    podman network rm -f "${PROJECT}_default" >/dev/null 2>&1 || true
  fi
  if declare -F stop_broker >/dev/null; then stop_broker || true; fi
  if declare -F stop_influxd >/dev/null; then stop_influxd; fi
  [[ -n ${BG_PID:-} ]] && kill "$BG_PID" 2>/dev/null
  true
}

# backends: a cdn broker with cdn.toml's topics and an influxd, both on 127.0.0.1; CONF is
# deploy/cdn.toml with their addresses, DATA and MODELS the directories mounted at /data and
# /models (MODELS writable by the image's user, uid 10001).
backends() {
  local topics=() t
  for t in $(/usr/bin/python3 -c 'import tomllib,sys; print(" ".join(tomllib.load(open(sys.argv[1],"rb"))["broker"]["topic"]))' \
    "$REPO_ROOT/deploy/cdn.toml"); do
    topics+=(--topic "$t")
  done
  start_broker "${topics[@]}"
  start_influxd
  CONF=$T/cdn.toml
  sed -e "s|\"kafka:9092\"|\"$CDN_BROKERS\"|" -e "s|\"http://influxdb:8086\"|\"$INFLUX_URL\"|" \
    "$REPO_ROOT/deploy/cdn.toml" >"$CONF"
  ! grep -qE 'kafka:9092|influxdb:8086' "$CONF"
  DATA=$T/data MODELS=$T/models
  mkdir -p "$DATA" "$MODELS"
  chown 10001:10001 "$MODELS"
}

# wait_log CONTAINER TEXT: until the container's log holds TEXT (30 s at most).
wait_log() {
  local deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    pod logs "$1" 2>&1 | grep -qF -- "$2" && return 0
    sleep 0.2
  done
  fail "no '$2' in the log of $1: $(pod logs "$1" 2>&1 | tail -n 5)"
}

influx_count() {
  influx_query cdn "SELECT count($2) FROM $1" | jq '.results[0].series[0].values[0][1] // 0'
}

# wait_count MEASUREMENT FIELD N [TIMEOUT]: until InfluxDB holds N points (60 s by default).
wait_count() {
  local n=0 deadline=$((SECONDS + ${4:-60}))
  while ((SECONDS < deadline)); do
    n=$(influx_count "$1" "$2")
    ((n >= $3)) && break
    sleep 0.5
  done
  [[ $n -eq $3 ]] || fail "InfluxDB holds $n points of $1, not $3"
}

@test "the image runs as uid 10001 with a read-only root and tini as PID 1; cdn --version lists every part" {
  run in_image -- bash -c 'id -u; id -g; cat /proc/1/comm; touch /usr/x 2>&1; echo $CDN_CONFIG'
  assert_line --index 0 10001
  assert_line --index 1 10001
  assert_line --index 2 tini
  assert_line --index 3 --partial 'Read-only file system'
  assert_line --index 4 /etc/cdn/cdn.toml
  run in_image -- cdn --version
  assert_success
  assert_line --index 0 "cdn $VERSION"
  assert_line --regexp '^parts: .* kafka xgboost influx'
  # the libraries opened at run time are in the image
  assert_line --regexp '^libraries: .*librdkafka [0-9].*XGBoost [0-9].*libcurl [0-9]'
  refute_output --partial 'not installed'
  # the version label is the project version
  run pod image inspect --format '{{index .Labels "org.opencontainers.image.version"}}' "$IMAGE"
  assert_output "$VERSION"
}

@test "the data provider's one-liner runs in the image: cdn gen | cdn sort | cdn tag | cdn validate" {
  run --separate-stderr in_image -- bash -euo pipefail -c \
    'cdn gen --rows 500 --seed 3 | cdn sort | cdn tag | cdn validate | wc -l'
  assert_success
  assert_output 500
  [[ $stderr == *"cdn validate: 500 in, 500 out, 0 rejected"* ]] || fail "$stderr"
  # the schemas, the man pages, the lag filter are where the image says
  run in_image -- bash -c 'ls /usr/share/cdn/schemas/cdn-data.json /usr/share/cdn/kafka-lag.jq /usr/share/man/man1/cdn-predict.1.gz'
  assert_success
}

@test "the image holds no build tools and no sources: the runtime stage is the binary and its libraries" {
  run in_image -- bash -c 'for c in cc c++ g++ cmake make apt-get; do command -v $c || true; done; ls /src /build /out 2>&1 | grep -c "No such"'
  # apt-get stays (Debian's base); nothing of the build stage does
  assert_output "/usr/bin/apt-get
3"
  local size
  size=$(pod image inspect --format '{{.Size}}' "$IMAGE")
  echo "# image $IMAGE: $((size / 1000000)) MB" >&3
  ((size < 200 * 1000 * 1000)) || fail "the image is $size bytes"
}

# Every compose service, its command line, environment and mounts as the compose file has them
# (the k8s workloads run the same scripts: deploy.bats checks it), started in the image against
# a cdn broker and an influxd of the test, cdn.toml at /etc/cdn/cdn.toml pointing at them.
@test "every service of the compose file and the manifests runs in the image: data, trainer, provider, predictor, loaders, promote, rollback; InfluxDB counts every record" {
  backends
  # demo-data, with fewer rows (it writes /data, as root, as the compose file says)
  service_run demo-data --rm
  local a=("${SERVICE_ARGS[@]}")
  a[-1]=$(sed -e 's/--rows 200000/--rows 3000/' -e 's/--rows 100000/--rows 2000/' <<<"${a[-1]}")
  [[ ${a[-1]} == *"--rows 3000"*"--rows 2000"* ]]
  run pod "${a[@]}"
  assert_success
  [ "$(wc -l <"$DATA/test.csv")" -eq 2001 ]

  service_run trainer --rm
  run --separate-stderr pod "${SERVICE_ARGS[@]}"
  assert_success
  assert_equal "$(readlink "$MODELS/current")" v1
  [ -f "$MODELS/v1/manifest.json" ]

  service_run provider --rm
  run --separate-stderr pod "${SERVICE_ARGS[@]}"
  assert_success
  [[ $stderr == *"cdn validate: 2000 in, 2000 out, 0 rejected"* ]] || fail "$stderr"
  [[ $stderr == *"cdn produce: 2000 in, 2000 out, 0 rejected"* ]] || fail "$stderr"

  # the consumers, as long-running containers; their probes (the k8s manifests' paths) answer
  local s addr
  for s in predictor loader-records loader-predictions loader-rejects; do
    service_run "$s" -d --name "$s-$$"
    pod "${SERVICE_ARGS[@]}" >/dev/null
  done
  wait_count cdn bytes_sent 2000 120
  wait_count prediction prediction 2000 120
  for s in predictor loader-records loader-predictions loader-rejects; do
    addr=$(container_addr "$s-$$")
    assert_equal "$s /healthz $(http_status "$addr" /healthz)" "$s /healthz 200"
    assert_equal "$s /readyz $(http_status "$addr" /readyz)" "$s /readyz 200"
  done
  # a second model, from other training data, rolled out and back under the running predictor
  cdn gen -q --rows 3000 --seed 7 -f csv -o "$DATA/train.csv"
  MODEL_VERSION=v2 service_run trainer --rm
  run --separate-stderr pod "${SERVICE_ARGS[@]}"
  assert_success
  local v1 v2
  v1=$(jq -r .model_hash "$MODELS/v1/manifest.json")
  v2=$(jq -r .model_hash "$MODELS/v2/manifest.json")
  [[ $v1 != "$v2" ]]
  MODEL_VERSION=v2 service_run promote --rm
  run --separate-stderr pod "${SERVICE_ARGS[@]}"
  assert_success
  assert_output "promote: /models/current is v2"
  wait_log "predictor-$$" "loaded the model $v2 from '/models/current'"
  # v2 takes over at the next record: a few more through the provider's last stage
  cdn gen -q --rows 20 --seed 9 --no-label | cdn tag -q --start 5001 >"$DATA/more.ndjson"
  in_image -v "$CONF:/etc/cdn/cdn.toml:ro" -v "$DATA:/data:ro" -- \
    cdn produce --rejects kafka:cdnrejects /data/more.ndjson 2>/dev/null
  service_run rollback --rm
  run --separate-stderr pod "${SERVICE_ARGS[@]}"
  assert_success
  assert_output "rollback: /models/current is v1"
  wait_log "predictor-$$" "loaded the model $v1 from '/models/current'"
  wait_count cdn bytes_sent 2020
  wait_count prediction prediction 2020
  # the 20 were predicted by v2
  run influx_query cdn "SELECT count(prediction) FROM prediction WHERE model = '$v2'"
  assert_output --partial '"values":[['
  # the consumers' statistics reach InfluxDB through kafka-lag.jq (every 10 s)
  local deadline=$((SECONDS + 30))
  while (($(influx_count kafka_consumer consumer_lag) == 0 && SECONDS < deadline)); do sleep 0.5; done
  (($(influx_count kafka_consumer consumer_lag) > 0))
  # stopped as a pod is (SIGTERM to tini, which passes it on): each commits what it has
  # written, prints its summary and exits 143 (128 + SIGTERM, cdn(1)), not killed after -t
  for s in predictor loader-records loader-predictions loader-rejects; do
    pod stop -t 30 "$s-$$" >/dev/null
    assert_equal "$s $(pod inspect --format '{{.State.ExitCode}}' "$s-$$")" "$s 143"
  done
  run pod logs "predictor-$$"
  assert_line --regexp '^cdn predict: 2020 in, 2020 out, 0 rejected'
  run pod logs "loader-records-$$"
  assert_line --regexp '^cdn load-influx: 2020 in, 2020 out, 0 rejected'
  echo "# containers: records produced 2020; InfluxDB: cdn $(influx_count cdn bytes_sent), prediction $(influx_count prediction prediction)" >&3
  [ "$(influx_count cdn bytes_sent)" -eq 2020 ]
  [ "$(influx_count prediction prediction)" -eq 2020 ]
}

# offline_compose [ARGS...]: the compose file made offline (deploy/podman/offline-compose.py
# ARGS) in COMPOSE_FILE, project PROJECT; cdn broker and influxd up, CONF naming them (the
# BROKERS= line of the broker's log); DATA holds 3000 training rows and 2000 test rows. podman
# runs every container with runc and the nofile and nproc limits (CONTAINERS_CONF).
offline_compose() {
  printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\n' \
    >"$T/containers.conf"
  export CONTAINERS_CONF=$T/containers.conf
  run build_image --tag localhost/cdn-influxdb:1.6 --dockerfile deploy/podman/influxdb.Dockerfile
  assert_success
  PROJECT=cdntest$$
  DATA=$T/data CONF=$T/cdn.toml
  mkdir -p "$DATA"
  cdn gen -q --rows 3000 --seed 1 -f csv -o "$DATA/train.csv"
  cdn gen -q --rows "${ROWS:-2000}" --seed 2 -f csv --no-label -o "$DATA/test.csv"
  local http rpc
  http=$(free_port)
  rpc=$(free_port)
  cp "$REPO_ROOT/deploy/cdn.toml" "$CONF"
  /usr/bin/python3 "$REPO_ROOT/deploy/podman/offline-compose.py" --cdn-toml "$CONF" --data "$DATA" \
    --influx-http "127.0.0.1:$http" --influx-rpc "127.0.0.1:$rpc" "$@" >"$T/offline.yml"
  COMPOSE_FILE=$T/offline.yml
  pc up -d --no-build kafka influxdb
  local i line=
  for i in $(seq 100); do
    line=$(podman logs "${PROJECT}_kafka_1" 2>/dev/null | grep -m1 '^BROKERS=' || true)
    [[ -n $line ]] && break
    sleep 0.1
  done
  [[ -n $line ]] || fail "cdn broker printed no BROKERS= line: $(podman logs "${PROJECT}_kafka_1" 2>&1)"
  sed -i -e "s|\"kafka:9092\"|\"${line#BROKERS=}\"|" -e "s|\"http://influxdb:8086\"|\"http://influxdb:$http\"|" "$CONF"
  ! grep -qE 'kafka:9092|influxdb:8086' "$CONF"
  export INFLUX_URL=http://127.0.0.1:$http
  for i in $(seq 200); do
    curl -sf -o /dev/null "$INFLUX_URL/ping" && break
    sleep 0.1
  done
  curl -sf -o /dev/null "$INFLUX_URL/ping" || fail "influxd does not answer: $(podman logs "${PROJECT}_influxdb_1" 2>&1 | tail -n 5)"
}

# pc ARGS...: podman-compose on the offline file, its output in $T/compose.log.
pc() {
  podman-compose --podman-path "$REPO_ROOT/deploy/podman/podman-hostnet.sh" \
    -f "$COMPOSE_FILE" -p "$PROJECT" "$@" >>"$T/compose.log" 2>&1 || {
    tail -n 30 "$T/compose.log" >&2
    fail "podman-compose $* failed"
  }
}

# summary CONTAINER COMMAND: the "N in" of the command's summary line in the container's log.
summary_in() {
  podman logs "$1" 2>&1 | sed -n "s/^cdn $2: \([0-9]*\) in, .*/\1/p" | tail -n 1
}

@test "the compose file runs offline with podman-compose: cdn broker as Kafka, Debian's influxd, two predictors sharing cdndata's partitions; InfluxDB counts every record" {
  offline_compose --replicas predictor=2
  pc run -T --rm --no-deps trainer
  pc up -d --no-build predictor loader-records loader-predictions loader-rejects
  run podman ps --format '{{.Names}}' --filter "name=${PROJECT}_predictor"
  assert_equal "${#lines[@]}" 2
  # both predictors in the group, each with its partitions (/readyz), before records come
  local p addr deadline
  for p in "${PROJECT}_predictor_1" "${PROJECT}_predictor_2"; do
    addr=$(container_addr "$p")
    deadline=$((SECONDS + 60))
    while [[ $(http_status "$addr" /readyz) != 200 ]] && ((SECONDS < deadline)); do sleep 0.2; done
    assert_equal "$p /readyz $(http_status "$addr" /readyz)" "$p /readyz 200"
  done
  pc run -T --rm --no-deps provider
  grep -q 'cdn produce: 2000 in, 2000 out, 0 rejected' "$T/compose.log" || fail "$(tail -n 20 "$T/compose.log")"
  wait_count cdn bytes_sent 2000 120
  wait_count prediction prediction 2000 120
  pc stop predictor loader-records loader-predictions loader-rejects
  # both predictors took part of the partitions, and together every record once
  local a b
  a=$(summary_in "${PROJECT}_predictor_1" predict)
  b=$(summary_in "${PROJECT}_predictor_2" predict)
  echo "# offline compose: 2000 records produced; predictors $a + $b; InfluxDB cdn $(influx_count cdn bytes_sent), prediction $(influx_count prediction prediction)" >&3
  ((a > 0 && b > 0)) || fail "the predictors read $a and $b records: one had no partition"
  assert_equal "$((a + b))" 2000
}

# deploy/README.md, "Rolling back a release": CDN_VERSION pins the previous tag and the
# services are recreated from it; Kafka, InfluxDB and the models stay. Records flow through it:
# the provider produces at 150 records/s ([produce] rate in cdn.toml) while the predictor and
# the loaders are replaced. Lost: records produced that did not reach InfluxDB or cdnresult.
# Doubled: predictions delivered twice (at least once allows it for what was in flight).
@test "a release rolled back while records flow: the consumers of the older image resume from their offsets, nothing is lost" {
  run build_image --tag "localhost/cdn:$PREVIOUS" --version "$PREVIOUS"
  assert_success
  ROWS=2000 offline_compose
  # the provider paced: about 13 s of records
  sed -i '/^\[produce\]/a rate = 150' "$CONF"
  pc run -T --rm --no-deps trainer
  CDN_VERSION=$VERSION pc up -d --no-build predictor loader-records loader-predictions
  podman-compose --podman-path "$REPO_ROOT/deploy/podman/podman-hostnet.sh" \
    -f "$COMPOSE_FILE" -p "$PROJECT" run -T --rm --no-deps provider >"$T/provider.log" 2>&1 &
  BG_PID=$!
  # the rollback once a part of the records is in, while the rest is still being produced
  local deadline=$((SECONDS + 60)) before=0
  while ((SECONDS < deadline)); do
    before=$(influx_count prediction prediction)
    ((before >= 400)) && break
    sleep 0.2
  done
  ((before >= 400 && before < 2000)) || fail "$before predictions before the rollback"
  CDN_VERSION=$PREVIOUS pc up -d --no-build --force-recreate predictor loader-records loader-predictions
  run podman inspect --format '{{.ImageName}}' "${PROJECT}_predictor_1" "${PROJECT}_loader-records_1" \
    "${PROJECT}_loader-predictions_1"
  assert_output "localhost/cdn:$PREVIOUS
localhost/cdn:$PREVIOUS
localhost/cdn:$PREVIOUS"
  wait "$BG_PID"
  unset BG_PID
  grep -q 'cdn produce: 2000 in, 2000 out, 0 rejected' "$T/provider.log" || fail "$(tail -n 20 "$T/provider.log")"
  wait_count cdn bytes_sent 2000 120
  wait_count prediction prediction 2000 120
  # every prediction in cdnresult, counted by sampleID
  CDN_BROKERS=$(sed -n 's/^brokers = "\(.*\)".*/\1/p' "$CONF" | head -n 1) \
    cdn consume -q kafka:cdnresult -e -o "$T/results.ndjson"
  local total distinct lost doubled
  total=$(wc -l <"$T/results.ndjson")
  distinct=$(jq -r .sampleID "$T/results.ndjson" | sort -u | wc -l)
  lost=$((2000 - distinct))
  doubled=$((total - distinct))
  echo "# rollback $VERSION -> $PREVIOUS after $before predictions: 2000 produced, InfluxDB cdn $(influx_count cdn bytes_sent), prediction $(influx_count prediction prediction); cdnresult $total messages, $distinct sampleIDs: lost $lost, doubled $doubled" >&3
  assert_equal "$lost" 0
  # resumed from the committed offsets, not from the start: at most what was in flight twice
  ((doubled < 400)) || fail "$doubled predictions twice: the new predictor did not resume from its offsets"
  # the new predictor read only what the old one had not committed: at most the records not
  # yet predicted at the rollback, and those in flight again
  local after
  pc stop predictor
  after=$(summary_in "${PROJECT}_predictor_1" predict)
  echo "# the predictor of $PREVIOUS read $after records" >&3
  ((after > 0 && after <= 2000 - before + doubled)) || fail "the predictor of $PREVIOUS read $after records"
}
