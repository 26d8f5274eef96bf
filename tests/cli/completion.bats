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
# prints the candidates sorted, one a line. With BASH_COMPLETION empty, bash-completion is
# not loaded.
bash_complete() {
  "$CDN" completion bash >cdn.bash
  BASH_COMPLETION="${BASH_COMPLETION-/usr/share/bash-completion/bash_completion}" \
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
      printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$@"
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
  run bash_complete cdn sort --key
  assert_success
  assert_output "$(printf '%s\n' --key --key-type)"
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
  run fish_complete 'cdn sort --key'
  assert_output "$(printf '%s\n' --key --key-type)"
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
  run zsh_complete 'cdn sort --key'
  assert_output "$(printf '%s\n' --key --key-type)"
  run zsh_complete 'cdn sort --key-type '
  assert_output "$(printf '%s\n' auto number string time)"
  run zsh_complete 'cdn --log-format json sort --rev'
  assert_output --reverse
  run zsh_complete 'cdn sort -T '
  assert_output runs
  run zsh_complete 'cdn sort day'
  assert_output "$(printf '%s\n' day1.ndjson day2.ndjson)"
}
