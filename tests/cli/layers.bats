#!/usr/bin/env bats
# The shape of the code: common/ is layered (base <- diag <- io <- record <- {schema, pipeline,
# kafka, gen} <- endpoint <- {model, influx, cli} <- cmd), the build refuses an include that
# runs up the layers, and scripts/check-layers.sh finds the breaches a compiler cannot.

load test_helper

bats_require_minimum_version 1.5.0

# compile LAYER_FILE INCLUDE: compiles a file that includes INCLUDE with the flags the build
# gives common/LAYER_FILE (from compile_commands.json next to the binary under test).
compile() {
  python3 - "$(dirname "$CDN")/compile_commands.json" "$REPO_ROOT/common/$1" "$2" \
    "$BATS_TEST_TMPDIR" <<'PY'
import json, shlex, subprocess, sys
db, source, header, tmp = sys.argv[1:]
entry = next(e for e in json.load(open(db)) if e["file"] == source)
args = shlex.split(entry["command"])
probe = f"{tmp}/probe.cpp"
with open(probe, "w") as f:
    f.write(f'#include "{header}"\nint probe_main() {{ return 0; }}\n')
args[args.index("-o") + 1] = f"{tmp}/probe.o"
args[args.index(source)] = probe
sys.exit(subprocess.run(args, cwd=entry["directory"]).returncode)
PY
}

@test "the build compiles a layer against the layers below it" {
  run compile io/sink.cpp common/diag/log.hpp
  assert_success
  run compile endpoint/endpoint.cpp common/record/source.hpp
  assert_success
}

@test "the build refuses an include that runs up the layers" {
  run compile io/sink.cpp common/record/source.hpp
  assert_failure
  assert_output --partial "common/record/source.hpp: No such file or directory"
  run compile record/source.cpp common/endpoint/endpoint.hpp
  assert_failure
  assert_output --partial "common/endpoint/endpoint.hpp: No such file or directory"
  run compile diag/log.cpp common/io/sink.hpp
  assert_failure
  assert_output --partial "No such file or directory"
}

@test "check-layers.sh finds no breach in the tree" {
  run bash "$REPO_ROOT/scripts/check-layers.sh"
  assert_success
  assert_output --partial "no breach"
}

@test "check-layers.sh reports an upward include, a librdkafka call in cmd/ and a long file" {
  local copy="$BATS_TEST_TMPDIR/tree"
  mkdir -p "$copy"
  cp -r "$REPO_ROOT/common" "$REPO_ROOT/cmd" "$REPO_ROOT/scripts" "$copy/"
  mkdir -p "$copy/tests/unit" "$copy/tests/fuzz"
  echo '#include "common/endpoint/endpoint.hpp"' >>"$copy/common/io/sink.hpp"
  echo 'void f() { rd_kafka_poll(nullptr, 0); }' >>"$copy/cmd/sort.cpp"
  echo 'bool k(const std::string& s) { return s.rfind("kafka:", 0) == 0; }' >>"$copy/cmd/tag.cpp"
  seq 801 | sed 's|^|// |' >"$copy/common/record/long.cpp"
  run bash "$copy/scripts/check-layers.sh"
  assert_failure 1
  assert_output --partial "common/io/sink.hpp:"
  assert_output --partial "'io' includes 'endpoint', which is not below it"
  assert_output --partial "cmd/sort.cpp:"
  assert_output --partial "a command calls librdkafka"
  assert_output --partial "cmd/tag.cpp:"
  assert_output --partial "reads 'kafka:' itself"
  assert_output --partial "common/record/long.cpp:801: 801 lines"
}
