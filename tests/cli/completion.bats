#!/usr/bin/env bats
# cdn completion: the scripts it writes complete commands, options, option values and file
# names in bash (with and without bash-completion), fish and zsh.

load test_helper

setup() {
  cd "$BATS_TEST_TMPDIR"
  mkdir -p runs/a runs/b
  touch day1.ndjson day2.ndjson notes.txt
}

# Completes the words given (the last is the one being completed; a word "=" stands for
# "--opt=value" as bash splits it) with the bash script that `cdn completion bash` writes;
# prints the candidates sorted, one a line (with KEEP_ORDER=1 in the order the script gave
# them). With BASH_COMPLETION empty, bash-completion is not loaded.
bash_complete() {
  "$CDN" completion bash >cdn.bash
  KEEP_ORDER=${KEEP_ORDER-} BASH_COMPLETION="${BASH_COMPLETION-/usr/share/bash-completion/bash_completion}" \
    bash --norc --noprofile -c '
      [[ -n $BASH_COMPLETION ]] && source "$BASH_COMPLETION"
      source ./cdn.bash
      COMP_WORDS=("$@")
      COMP_CWORD=$(($# - 1))
      COMP_LINE= prev=
      for w in "$@"; do  # "--opt = v" was typed as "--opt=v"
        if [[ -z $COMP_LINE || $w == = || $prev == = ]]; then COMP_LINE+=$w; else COMP_LINE+=" $w"; fi
        prev=$w
      done
      COMP_POINT=${#COMP_LINE}
      _cdn
      if [[ -n $KEEP_ORDER ]]; then printf "%s\n" "${COMPREPLY[@]}"; else printf "%s\n" "${COMPREPLY[@]}" | sort; fi' _ "$@"
}

# The words fish offers for a command line (its completion candidates without descriptions).
fish_complete() {
  "$CDN" completion fish >cdn.fish
  fish --no-config -c 'source ./cdn.fish; complete -C $argv[1]' "$1" | cut -f1 | sort
}

# The words zsh offers for a command line: an interactive zsh on a pseudo-terminal loads the
# script written by `cdn completion zsh` through compinit, receives the line and a TAB, and
# prints every candidate compadd gets.
zsh_complete() {
  local dir="$BATS_FILE_TMPDIR/zsh"
  mkdir -p "$dir/functions"
  "$CDN" completion zsh >"$dir/functions/_cdn"
  cat >"$dir/capture.zsh" <<'ZSH'
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PROMPT= ; fpath=(${0:h}/functions \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd () { builtin compadd -O __hits "$@"; local h; for h in "${__hits[@]}"; do echo "<<$h>>"; done; builtin compadd "$@"; }'
zpty -w z 'bindkey "^I" complete-word; null-line () { echo -E - $'"'"'\0'"'"' }; compprefuncs=( null-line ); comppostfuncs=( null-line exit )'
zpty -n -w z "$1"$'\t'
integer seen=0
while zpty -r z; do :; done | while IFS= read -r ln; do
  if [[ $ln == *$'\0\r' ]]; then (( seen++ )) && return 0 || continue; fi
  (( seen )) && echo -E - $ln
done
ZSH
  # The reader stops at the second marker; zsh may then report the write to the closed pipe.
  timeout 30 zsh -f "$dir/capture.zsh" "$1" 2>/dev/null | grep -o '<<[^>]*>>' | sed 's/^<<//; s/>>$//' | sort -u
}

@test "cdn completion writes a script for each shell" {
  run cdn completion bash
  assert_success
  assert_line 'complete -F _cdn cdn'
  run cdn completion zsh
  assert_success
  assert_line --index 0 '#compdef cdn'
  run cdn completion fish
  assert_success
  assert_line 'complete -c cdn -f'
}

@test "cdn completion needs a shell" {
  run cdn completion
  assert_failure 2
  assert_output --partial 'shell'
}

@test "an unknown shell is a usage error that names it" {
  run cdn completion tcsh
  assert_failure 2
  assert_output --partial 'tcsh'
}

@test "bash completes the commands" {
  run bash_complete cdn ''
  assert_success
  assert_line sort
  assert_line completion
  run bash_complete cdn so
  assert_output sort
}

@test "bash completes a command's options" {
  run bash_complete cdn sort --m
  assert_success
  assert_output "$(printf '%s\n' --merge --missing)"
}

@test "bash completes global options before the command" {
  run bash_complete cdn --log
  assert_output --log-format
}

@test "bash completes the choices of an option" {
  run bash_complete cdn sort --key-type ''
  assert_success
  assert_output "$(printf '%s\n' auto number string time)"
  run bash_complete cdn --log-format j
  assert_output json
}

@test "bash completes the choices of an option written with =" {
  run bash_complete cdn sort --missing = f
  assert_success
  assert_output first
}

@test "bash completes file names for inputs and -o, directories for -T" {
  run bash_complete cdn sort day
  assert_output "$(printf '%s\n' day1.ndjson day2.ndjson)"
  run bash_complete cdn sort -o no
  assert_output notes.txt
  run bash_complete cdn sort -T ''
  assert_output runs
}

@test "bash offers nothing for an option that takes free text" {
  run bash_complete cdn sort -k ''
  assert_success
  assert_output ''
}

@test "bash finds the command after global options and their values" {
  run bash_complete cdn --log-format text sort --rev
  assert_output --reverse
}

@test "bash completes the shell of cdn completion, once" {
  run bash_complete cdn completion ''
  assert_output "$(printf '%s\n' bash fish zsh)"
  run bash_complete cdn completion bash ''
  assert_output ''
}

@test "bash completion works without bash-completion loaded" {
  BASH_COMPLETION='' run bash_complete cdn sort --key-type n
  assert_success
  assert_output number
  BASH_COMPLETION='' run bash_complete cdn sort day
  assert_output "$(printf '%s\n' day1.ndjson day2.ndjson)"
}

@test "the fish script parses and completes commands, options and choices" {
  "$CDN" completion fish >cdn.fish
  run fish --no-config -n cdn.fish
  assert_success
  run fish_complete 'cdn '
  assert_line sort
  assert_line completion
  run fish_complete 'cdn sort --m'
  assert_output "$(printf '%s\n' --merge --missing)"
  run fish_complete 'cdn sort --key-type '
  assert_output "$(printf '%s\n' auto number string time)"
  run fish_complete 'cdn sort -T '
  assert_output 'runs/'
}

@test "the zsh script parses and registers _cdn for cdn" {
  "$CDN" completion zsh >_cdn
  run zsh -n _cdn
  assert_success
  run zsh -f -c 'autoload -Uz compinit && compinit -u -D && source ./_cdn && print -r -- $_comps[cdn]'
  assert_success
  assert_output _cdn
}

@test "zsh completes commands, options, choices, files and directories" {
  run zsh_complete 'cdn '
  assert_line sort
  assert_line completion
  run zsh_complete 'cdn sort --m'
  assert_output "$(printf '%s\n' --merge --missing)"
  run zsh_complete 'cdn sort --key-type '
  assert_output "$(printf '%s\n' auto number string time)"
  run zsh_complete 'cdn --log-format json sort --rev'
  assert_output --reverse
  run zsh_complete 'cdn sort -T '
  assert_output runs
  run zsh_complete 'cdn sort day'
  assert_output "$(printf '%s\n' day1.ndjson day2.ndjson)"
}

# bundles: zoo/v1 (model.ubj) and zoo/v2 (contract.json) hold a model; zoo/v3 and runs/ do not.
bundles() {
  mkdir -p zoo/v1 zoo/v2 zoo/v3
  touch zoo/v1/model.ubj zoo/v2/contract.json
}

# record_files: a file of each format the commands read, and some they do not.
record_files() {
  touch a.jsonl b.json c.csv d.csv.gz e.ndjson.gz f.json.gz schema.json cdn.toml model.ubj data.txt
}

# bats test_tags=xgboost
@test "bash offers directories for a model bundle, those holding a model first" {
  bundles
  KEEP_ORDER=1 run bash_complete cdn predict -m zoo/
  assert_success
  assert_output "$(printf '%s\n' zoo/v1 zoo/v2 zoo/v3)"
  # a bundle first even where its name sorts last
  mkdir -p a-dir z
  touch z/model.ubj
  KEEP_ORDER=1 run bash_complete cdn predict -m ''
  assert_line --index 0 z
  assert_equal "$(sort <<<"$output")" "$(printf '%s\n' a-dir runs z zoo)"
  local o
  for o in "predict --shadow" "eval -m" "eval --model" "train --model-in"; do
    # shellcheck disable=SC2086
    KEEP_ORDER=1 run bash_complete cdn $o zoo/
    assert_output "$(printf '%s\n' zoo/v1 zoo/v2 zoo/v3)"
  done
  BASH_COMPLETION='' KEEP_ORDER=1 run bash_complete cdn predict -m zoo/
  assert_output "$(printf '%s\n' zoo/v1 zoo/v2 zoo/v3)"
}

# bats test_tags=kafka,xgboost,influx
@test "bash offers the files of the formats a command reads, and directories" {
  record_files
  local records
  records=$(printf '%s\n' a.jsonl b.json c.csv d.csv.gz day1.ndjson day2.ndjson e.ndjson.gz f.json.gz runs schema.json)
  local c
  for c in sort tag validate produce train predict eval load-influx; do
    run bash_complete cdn "$c" ''
    assert_output "$records"
  done
  run bash_complete cdn train --valid ''
  assert_output "$records"
  run bash_complete cdn validate --schema ''
  assert_output "$(printf '%s\n' b.json runs schema.json)"
  run bash_complete cdn train --schema s
  assert_output schema.json
  run bash_complete cdn --config ''
  assert_output "$(printf '%s\n' cdn.toml runs)"
  # what writes a file, or reads one of any name, takes any file
  run bash_complete cdn sort -o dat
  assert_output data.txt
  run bash_complete cdn tag --state dat
  assert_output data.txt
  BASH_COMPLETION='' run bash_complete cdn sort ''
  assert_output "$records"
}

# choices CMD: "--option a b c" for each option of `cdn CMD --help` whose values are a fixed set
# ({a,b,c} in its type), one a line.
choices() {
  "$CDN" "$1" --help | sed -n 's/^ *\(-[a-zA-Z],\)\{0,1\}\(--[a-z-]*\) [A-Z_]*:{\([^}]*\)}.*/\2 \3/p' | tr ',' ' '
}

# bats test_tags=kafka,xgboost
@test "bash offers the values of every option that takes one of a fixed set, and the usual ones of --offset and --objective" {
  local c o values n=0
  for c in $("$CDN" --help | awk '/^Subcommands:/ { on = 1; next } on && /^$/ { exit } on && /^  [a-z]/ { print $1 }'); do
    while read -r o values; do
      run bash_complete cdn "$c" "$o" ''
      # shellcheck disable=SC2086
      assert_equal "$output" "$(printf '%s\n' $values | sort)"
      n=$((n + 1))
    done < <(choices "$c")
  done
  ((n >= 10)) || fail "only $n options with a fixed set of values found"
  run bash_complete cdn consume --offset ''
  assert_output "$(printf '%s\n' beginning end stored)"
  run bash_complete cdn sort --offset s
  assert_output stored
  run bash_complete cdn train --objective bin
  assert_output "$(printf '%s\n' binary:hinge binary:logistic)"
  # bash breaks words at ':', so what follows it is what is completed
  run bash_complete cdn train --objective reg:
  assert_output "$(printf '%s\n' logistic squarederror)"
}

# bats test_tags=kafka,xgboost
@test "fish offers model bundles first, and the files of the formats a command reads" {
  bundles
  record_files
  "$CDN" completion fish >cdn.fish
  run fish --no-config -c 'source ./cdn.fish; complete -C "cdn predict -m zoo/"'
  assert_success
  assert_output "$(printf '%s\t%s\n' zoo/v1/ 'model bundle' zoo/v2/ 'model bundle' zoo/v3/ directory)"
  run fish_complete 'cdn sort '
  assert_output "$(printf '%s\n' a.jsonl b.json c.csv d.csv.gz day1.ndjson day2.ndjson e.ndjson.gz f.json.gz runs/ schema.json zoo/)"
  run fish_complete 'cdn validate --schema '
  assert_output "$(printf '%s\n' b.json runs/ schema.json zoo/)"
  run fish_complete 'cdn consume --offset '
  assert_output "$(printf '%s\n' beginning end stored)"
}

# bats test_tags=kafka,xgboost
@test "zsh offers model bundles, the files of the formats a command reads, and the usual --offset values" {
  bundles
  record_files
  run zsh_complete 'cdn predict -m zoo/'
  # (the capture also sees the directory of the path, zoo, as the existing tests show)
  assert_output "$(printf '%s\n' v1 v2 v3 zoo)"
  run zsh_complete 'cdn predict -m '
  assert_output "$(printf '%s\n' runs zoo)"
  run zsh_complete 'cdn sort '
  assert_output "$(printf '%s\n' a.jsonl b.json c.csv d.csv.gz day1.ndjson day2.ndjson e.ndjson.gz f.json.gz runs schema.json zoo)"
  run zsh_complete 'cdn validate --schema '
  assert_output "$(printf '%s\n' b.json runs schema.json zoo)"
  run zsh_complete 'cdn consume --offset '
  assert_output "$(printf '%s\n' beginning end stored)"
  run zsh_complete 'cdn train --objective '
  assert_output "$(printf '%s\n' binary:hinge binary:logistic multi:softmax multi:softprob reg:logistic reg:squarederror)"
}
