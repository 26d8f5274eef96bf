#!/usr/bin/env bats
# The config file: every long option of a command can come from a [COMMAND] section of a
# TOML file named by --config or by the CDN_CONFIG environment variable.

load test_helper

setup() {
  cd "$BATS_TEST_TMPDIR"
  printf '%s\n' '{"n":3,"m":"a"}' '{"n":1,"m":"c"}' '{"n":2,"m":"b"}' >in.ndjson
  printf '%s\n' '# sort by the number' '[sort]' 'key = "n"' >by-n.toml
}

@test "without a config file sort uses its default key" {
  run cdn -q sort in.ndjson --rejects rejects.ndjson
  assert_failure 1
  assert_output ''
}

@test "--config FILE sets a long option of sort from its [sort] section" {
  run cdn -q --config by-n.toml sort in.ndjson
  assert_success
  assert_output "$(printf '%s\n' '{"n":1,"m":"c"}' '{"n":2,"m":"b"}' '{"n":3,"m":"a"}')"
}

@test "--config may also follow the command" {
  run cdn -q sort --config by-n.toml in.ndjson
  assert_success
  assert_line --index 0 '{"n":1,"m":"c"}'
}

@test "CDN_CONFIG names the config file when --config is not given" {
  CDN_CONFIG="$PWD/by-n.toml" run cdn -q sort in.ndjson
  assert_success
  assert_output "$(printf '%s\n' '{"n":1,"m":"c"}' '{"n":2,"m":"b"}' '{"n":3,"m":"a"}')"
}

@test "--config wins over CDN_CONFIG" {
  printf '%s\n' '[sort]' 'key = "m"' >by-m.toml
  CDN_CONFIG="$PWD/by-n.toml" run cdn -q --config by-m.toml sort in.ndjson
  assert_success
  assert_line --index 0 '{"n":3,"m":"a"}'
}

@test "an option on the command line wins over the config file" {
  run cdn -q --config by-n.toml sort -k m in.ndjson
  assert_success
  assert_line --index 0 '{"n":3,"m":"a"}'
}

@test "a flag can be set in the config file" {
  printf '%s\n' '[sort]' 'key = "n"' 'reverse = true' >reverse.toml
  run cdn -q --config reverse.toml sort in.ndjson
  assert_success
  assert_line --index 0 '{"n":3,"m":"a"}'
}

@test "sections of other commands do not change sort" {
  printf '%s\n' '[tag]' 'field = "id"' '' '[sort]' 'key = "n"' >two.toml
  run cdn -q --config two.toml sort in.ndjson
  assert_success
  assert_line --index 0 '{"n":1,"m":"c"}'
  refute_output --partial '"id"'
}

@test "a config file that does not exist is a usage error" {
  run cdn --config no-such.toml sort in.ndjson
  assert_failure 2
  assert_output --partial 'no-such.toml'
}

@test "CDN_CONFIG naming a file that does not exist is a usage error" {
  CDN_CONFIG="$PWD/no-such.toml" run cdn sort in.ndjson
  assert_failure 2
  assert_output --partial 'no-such.toml'
}

@test "a bad value in the config file is a usage error" {
  printf '%s\n' '[sort]' 'key-type = "sideways"' >bad-value.toml
  run cdn --config bad-value.toml sort in.ndjson
  assert_failure 2
  assert_output --partial 'sideways'
}

@test "an unknown key in a section is a usage error that names it" {
  printf '%s\n' '[sort]' 'key = "n"' 'no-such-option = 1' >unknown.toml
  run cdn --config unknown.toml sort in.ndjson
  assert_failure 2
  assert_output --partial "bad config file 'unknown.toml', line 3: unknown key 'no-such-option' in [sort]"
}

@test "a mistyped section or key in the config file: the file, the line and the nearest name" {
  printf '%s\n' '[srot]' 'key = "n"' >section.toml
  run cdn --config section.toml sort in.ndjson
  assert_failure 2
  assert_output --partial "bad config file 'section.toml', line 2: unknown section [srot] (did you mean [sort]?)"
  printf '%s\n' 'verbose = 1' '' '[sort]' 'bufer-size = "1M"' >key.toml
  run cdn --config key.toml sort in.ndjson
  assert_failure 2
  assert_output --partial "bad config file 'key.toml', line 4: unknown key 'bufer-size' in [sort] (did you mean 'buffer-size'?)"
  refute_output --partial 'INI'
  # the sections of every cdn command are taken, also by a build without some of them (a
  # config file written for a full build is passed over there, not refused)
  printf '%s\n' '[load-influx]' 'url = "http://127.0.0.1:9"' '[predict]' 'threshold = 0.4' \
    '[sort]' 'key = "n"' >full.toml
  run cdn --config full.toml sort in.ndjson
  assert_success
  printf '%s\n' 'verbos = 1' >global.toml
  run cdn --config global.toml sort in.ndjson
  assert_failure 2
  assert_output --partial "line 1: unknown key 'verbos' (did you mean 'verbose'?); each key is one of the long options of cdn, without its dashes"
}

@test "a config file that is not TOML is a usage error" {
  printf '%s\n' 'this is [ not toml' >garbage.toml
  run cdn --config garbage.toml sort in.ndjson
  assert_failure 2
}

# bats test_tags=kafka,xgboost,influx
@test "the deployment's config file deploy/cdn.toml is accepted by every command it configures" {
  export CDN_CONFIG="$REPO_ROOT/deploy/cdn.toml"
  run bash -c "'$CDN' -q gen --rows 50 | '$CDN' -q sort | '$CDN' -q tag"
  assert_success
  [ "${#lines[@]}" -eq 50 ]
  assert_line --index 49 --partial '"sampleID":50}'
}

# bats test_tags=kafka
@test "librdkafka properties (-X) and brokers can come from a config section" {
  printf '%s\n' '[sort]' 'brokers = "127.0.0.1:1"' 'X = ["no.such.property=1"]' >kafka.toml
  run cdn --config kafka.toml sort kafka:t -e
  assert_failure 2
  assert_output --partial "unknown Kafka property 'no.such.property' (-X)"
}

# bats test_tags=influx
@test "an option's environment variable wins over the config file, the command line over both" {
  printf '[load-influx]\nurl = "http://127.0.0.1:9"\n[produce]\nbrokers = "127.0.0.1:9"\n' \
    >"$BATS_TEST_TMPDIR/c.toml"
  export CDN_CONFIG="$BATS_TEST_TMPDIR/c.toml"
  run env INFLUX_URL=http://127.0.0.1:7 "$CDN" load-influx --db x --retry-timeout 1s <<<'{"a":1,"timestamp":1}'
  assert_failure 3
  assert_output --partial "'http://127.0.0.1:7/"
  run env -u INFLUX_URL "$CDN" load-influx --db x --retry-timeout 1s <<<'{"a":1,"timestamp":1}'
  assert_failure 3
  assert_output --partial "'http://127.0.0.1:9/"
  run env INFLUX_URL=http://127.0.0.1:7 "$CDN" load-influx --url http://127.0.0.1:8 --db x \
    --retry-timeout 1s <<<'{"a":1,"timestamp":1}'
  assert_failure 3
  assert_output --partial "'http://127.0.0.1:8/"
  run env CDN_BROKERS=127.0.0.1:7 "$CDN" produce -t x -X message.timeout.ms=1000 <<<'{}'
  assert_failure 3
  assert_output --partial "127.0.0.1:7/bootstrap"
  run env -u CDN_BROKERS "$CDN" produce -t x -X message.timeout.ms=1000 <<<'{}'
  assert_failure 3
  assert_output --partial "127.0.0.1:9/bootstrap"
  # -b beats CDN_BROKERS, for every command with Kafka options (each shares the settings)
  run env CDN_BROKERS=127.0.0.1:7 "$CDN" produce -t x -b 127.0.0.1:8 -X message.timeout.ms=1000 <<<'{}'
  assert_failure 3
  assert_output --partial "127.0.0.1:8/bootstrap"
  refute_output --partial "127.0.0.1:7"
  run env CDN_BROKERS=127.0.0.1:7 "$CDN" consume -t x -b 127.0.0.1:8 --timeout 1000
  assert_failure 3
  assert_output --partial "127.0.0.1:8"
  refute_output --partial "127.0.0.1:7"
}

# Malformed TOML, one case a line: the file's text (printf format), the line the error names,
# and what the message says is wrong. Each was once taken as a literal value.
malformed_configs() {
  cat <<'TABLE'
[sort]\nkey = "timestamp\n|2|unterminated string
[sort]\nkey = """timestamp\n|2|unterminated multi-line string
[sort]\nkey = '''timestamp\n|2|unterminated multi-line string
[sort]\nkey = 'timestamp\n|2|unterminated string
[tag]\nhash-fields = ["a", "b"\n|2|unterminated array
[tag]\nhash-fields = ["a" "b"]\n|2|unexpected '"' in an array
[tag]\nprefix = "a\\qb"\n|2|bad escape \q in a string
[tag]\nprefix = "\\u12"\n|2|bad escape \u (it takes 4 hex digits)
[sort]\nkey\n|2|key 'key' has no value
[sort]\nkey =\n|2|key 'key' has no value after '='
[sort]\nkey = "a"\nkey = "b"\n|3|key 'key' is defined twice (first on line 2)
[sort]\nkey = "a"\n[sort]\nreverse = true\n|3|table [sort] is defined twice (first on line 1)
[sort]\nkey = "a" b\n|2|unexpected 'b' after the value
[sort]\nkey = "a"]\n|2|unexpected ']' after the value
[sort]\nkey = timestamp\n|2|bad value 'timestamp'
[sort\nkey = "a"\n|1|unterminated table header
[[sort]]\nkey = "a"\n|1|an array of tables
[sort]\nkey = {a = 1}\n|2|an inline table
[tag]\nstart = 007\n|2|integer '007' has a leading zero
[sort]\nkey = "a\xffb"\n|2|invalid UTF-8
= "a"\n|1|a key is missing
TABLE
}

@test "a malformed config file is a usage error naming the file, the line and the fault" {
  local bad=() text line what
  while IFS='|' read -r text line what; do
    # shellcheck disable=SC2059
    printf "$text" >bad.toml
    run cdn --config bad.toml sort in.ndjson
    if [[ $status -ne 2 || $output != *"bad config file 'bad.toml', line $line: $what"* ]]; then
      bad+=("$text: status $status: $output")
    fi
  done < <(malformed_configs)
  [[ ${#bad[@]} -eq 0 ]] || fail "$(printf '%s\n' "${bad[@]}")"
}

@test "config values are read as TOML: escapes, literal and multi-line strings, '#' and ',' in strings" {
  printf '%s\n' '[tag]' 'prefix = "a#b,c \"q\" \u00e9\t"   # a comment' 'field = '"'"'id'"'"'' \
    'mode = """seq"""' 'start = 1_000' >t.toml
  run cdn -q --config t.toml tag <<<'{}'
  assert_success
  assert_output '{"id":"a#b,c \"q\" é\t1000"}'
  printf '%s\n' '[tag]' 'prefix = '"'"'x\y'"'"'' >l.toml
  run cdn -q --config l.toml tag <<<'{}'
  assert_success
  assert_output '{"sampleID":"x\\y1"}'
}

@test "an array may span lines, with comments and a trailing comma" {
  printf '%s\n' '[tag]' 'mode = "hash"' 'hash-fields = [' '  "n",  # the number' '  "m",' ']' >a.toml
  run cdn -q --config a.toml tag in.ndjson
  assert_success
  assert_line --index 0 --partial '"sampleID":"'
}

@test "a config file larger than 1 MiB, or one that never ends like /dev/zero, is refused" {
  truncate -s 2M big.toml
  run cdn --config big.toml sort in.ndjson
  assert_failure 2
  assert_output "cdn sort: the config file 'big.toml' is larger than 1 MiB, the most a config file may be; name a config file with --config or CDN_CONFIG"
  run cdn --config /dev/zero sort in.ndjson
  assert_failure 2
  assert_output "cdn sort: the config file '/dev/zero' is larger than 1 MiB, the most a config file may be; name a config file with --config or CDN_CONFIG"
}
