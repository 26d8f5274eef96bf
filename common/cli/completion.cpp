#include "common/cli/completion.hpp"

#include <algorithm>
#include <array>
#include <set>

#include "common/diag/errors.hpp"

namespace cdn::cli {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    parts.emplace_back(s.substr(start, end == std::string_view::npos ? s.npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

// CLI11's full type name is the declared one followed by each validator's description,
// separated by ':'; CLI::IsMember describes itself as "{a,b,c}", CLI::ExistingFile as "FILE".
void read_type_name(const std::string& full, CompletionArg& arg) {
  auto parts = split(full, ':');
  arg.value_name = parts.front();
  arg.kind = ValueKind::text;
  for (const auto& part : parts) {
    if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
      arg.choices = split(std::string_view(part).substr(1, part.size() - 2), ',');
      arg.kind = ValueKind::choice;
      return;
    }
  }
  for (const auto& part : parts) {
    if (part == "MODEL_DIR") {
      arg.kind = ValueKind::bundle;
      return;
    }
    if (starts_with(part, "DIR")) {
      arg.kind = ValueKind::directory;
      return;
    }
    if (starts_with(part, "FILE") || starts_with(part, "PATH") || starts_with(part, "INPUT")) {
      arg.kind = ValueKind::file;
      return;
    }
  }
}

constexpr std::string_view kFilesHint = "complete-files:";
constexpr std::string_view kValuesHint = "complete-values:";

// The hints complete_files and complete_values attached: validators named after what they
// offer. (CLI11 hands out an option's validators only through a non-const accessor, which
// finds them and changes nothing.)
void read_hints(const CLI::Option& opt, CompletionArg& arg) {
  auto& o = const_cast<CLI::Option&>(opt);
  for (int i = 0;; ++i) {
    const CLI::Validator* v = nullptr;
    try {
      v = o.get_validator(i);
    } catch (const CLI::OptionNotFound&) {
      return;
    }
    const std::string& name = v->get_name();
    if (starts_with(name, kFilesHint)) {
      arg.kind = ValueKind::file;
      arg.extensions = split(std::string_view(name).substr(kFilesHint.size()), ',');
    } else if (starts_with(name, kValuesHint) && arg.kind != ValueKind::choice) {
      arg.kind = ValueKind::choice;
      arg.choices = split(std::string_view(name).substr(kValuesHint.size()), ',');
    }
  }
}

CompletionArg describe_option(const CLI::Option& opt) {
  CompletionArg arg;
  arg.shorts = opt.get_snames();
  arg.longs = opt.get_lnames();
  arg.description = opt.get_description();
  if (opt.get_expected_max() == 0) {
    arg.kind = ValueKind::none;
    arg.repeatable = opt.get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll;
  } else {
    read_type_name(opt.get_type_name(), arg);
    read_hints(opt, arg);
    if (arg.value_name.empty()) arg.value_name = opt.get_name(true, false);
    arg.repeatable = opt.get_expected_max() > 1 ||
                     opt.get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll;
  }
  return arg;
}

// A command's description up to its first full stop: a completion menu has one line.
std::string first_sentence(const std::string& text) {
  size_t end = text.find(". ");
  if (end == std::string::npos) end = text.size();
  std::string out = text.substr(0, end);
  while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
  return out;
}

void describe_options(const CLI::App& app, std::vector<CompletionArg>& options,
                      std::vector<CompletionArg>* positionals) {
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_group().empty()) continue;  // hidden
    if (opt->nonpositional()) {
      options.push_back(describe_option(*opt));
    } else if (positionals != nullptr) {
      positionals->push_back(describe_option(*opt));
    }
  }
}

// ---- quoting -------------------------------------------------------------------------------

// For a shell single-quoted string ('it'\''s').
std::string sh_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Inside a fish single-quoted string: backslash and quote are escaped.
std::string fish_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

// Text inside the [description] of a zsh _arguments spec that is itself single-quoted.
std::string zsh_bracket_text(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
      continue;
    }
    if (c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// A zsh message or description after a ':' in a spec: colons and quotes escaped.
std::string zsh_colon_text(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
      continue;
    }
    if (c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string join(const std::vector<std::string>& words, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i) out += sep;
    out += words[i];
  }
  return out;
}

// Options of `cmd` plus the global options it does not shadow (global options are accepted
// after the command too).
std::vector<CompletionArg> options_after_command(const CompletionModel& m,
                                                 const CompletionCommand& cmd) {
  std::set<std::string> own;
  for (const auto& o : cmd.options)
    for (const auto& f : o.flags()) own.insert(f);
  std::vector<CompletionArg> all = cmd.options;
  for (const auto& g : m.globals) {
    auto flags = g.flags();
    bool shadowed = std::any_of(flags.begin(), flags.end(),
                                [&](const std::string& f) { return own.count(f) > 0; });
    if (!shadowed) all.push_back(g);
  }
  return all;
}

// ---- bash ----------------------------------------------------------------------------------

// The command that completes the value `a` takes (cur, the word, is set).
std::string bash_action(const CompletionArg& a, const std::string& fn) {
  switch (a.kind) {
    case ValueKind::choice:
      // Values may hold a ':', a word break of readline's: see _cdn_colon_trim.
      return "mapfile -t COMPREPLY < <(compgen -W " + sh_quote(join(a.choices, " ")) +
             " -- \"$cur\"); " + fn + "_colon_trim";
    case ValueKind::file:
      if (a.extensions.empty()) return fn + "_files";
      return fn + "_files " + sh_quote("@(" + join(a.extensions, "|") + ")");
    case ValueKind::directory:
      return fn + "_files -d";
    case ValueKind::bundle:
      return fn + "_bundles";
    default:
      return ":";
  }
}

// One `case` arm that completes the value of the options in `opts`; "" if none take one.
std::string bash_value_arms(const std::vector<CompletionArg>& opts, const std::string& indent,
                            const std::string& fn) {
  std::string out;
  for (const auto& o : opts) {
    if (!o.takes_value()) continue;
    out += indent + join(o.flags(), " | ") + ")";
    if (o.kind == ValueKind::text) {
      out += " return ;;\n";
    } else {
      out += " " + bash_action(o, fn) + "; return ;;\n";
    }
  }
  return out;
}

std::vector<std::string> all_flags(const std::vector<CompletionArg>& opts) {
  std::vector<std::string> flags;
  for (const auto& o : opts)
    for (const auto& f : o.flags()) flags.push_back(f);
  return flags;
}

}  // namespace

CLI::Validator complete_files(const std::vector<std::string>& extensions) {
  return CLI::Validator([](std::string&) { return std::string(); }, "",
                        std::string(kFilesHint) + join(extensions, ","));
}

CLI::Validator complete_values(const std::vector<std::string>& values) {
  return CLI::Validator([](std::string&) { return std::string(); }, "",
                        std::string(kValuesHint) + join(values, ","));
}

const std::vector<std::string>& record_extensions() {
  static const std::vector<std::string> kExtensions = {
      "ndjson", "jsonl", "json", "csv", "ndjson.gz", "jsonl.gz", "json.gz", "csv.gz"};
  return kExtensions;
}

std::vector<std::string> CompletionArg::flags() const {
  std::vector<std::string> out;
  for (const auto& s : shorts) out.push_back("-" + s);
  for (const auto& l : longs) out.push_back("--" + l);
  return out;
}

CompletionModel describe(const CLI::App& root) {
  CompletionModel m;
  m.program = root.get_name();
  describe_options(root, m.globals, nullptr);
  auto subs = root.get_subcommands([](const CLI::App* s) { return !s->get_name().empty(); });
  for (const CLI::App* sub : subs) {
    if (sub->get_group().empty() || sub->get_disabled()) continue;  // hidden
    CompletionCommand cmd;
    cmd.name = sub->get_name();
    cmd.description = first_sentence(sub->get_description());
    describe_options(*sub, cmd.options, &cmd.positionals);
    m.commands.push_back(std::move(cmd));
  }
  return m;
}

std::string bash_script(const CompletionModel& m) {
  const std::string& p = m.program;
  const std::string fn = "_" + p;
  std::string s;
  s += "# bash completion for " + p + "                                   -*- shell-script -*-\n";
  s += "# Generated by '" + p +
       " completion bash' from the command-line definitions; do not edit.\n";
  s += "# Install as /usr/share/bash-completion/completions/" + p + ", or source it.\n\n";

  s += "# File names: every file; with -d directories; with an extglob pattern of extensions\n";
  s += "# ('@(csv|csv.gz)'), the files that end in one, and directories.\n";
  s += fn + "_files() {\n";
  s += "  if declare -F _filedir >/dev/null; then\n";
  s += "    _filedir \"$@\"\n";
  s += "  else\n";
  s += "    compopt -o filenames 2>/dev/null\n";
  s += "    if [[ ${1-} == -d ]]; then\n";
  s += "      mapfile -t COMPREPLY < <(compgen -d -- \"$cur\")\n";
  s += "    elif [[ -n ${1-} ]]; then\n";
  s += "      local extglob\n";
  s += "      extglob=$(shopt -p extglob)\n";
  s += "      shopt -s extglob\n";
  s += "      mapfile -t COMPREPLY < <(compgen -d -- \"$cur\"; compgen -f -X \"!*.$1\" -- \"$cur\" "
       "| while IFS= read -r f; do [[ -d $f ]] || printf '%s\\n' \"$f\"; done)\n";
  s += "      $extglob\n";
  s += "    else\n";
  s += "      mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n";
  s += "    fi\n";
  s += "  fi\n";
  s += "}\n\n";
  s += "# Model bundles: directories, those holding a model (model.ubj or contract.json) first.\n";
  s += fn + "_bundles() {\n";
  s += "  " + fn + "_files -d\n";
  s += "  local d path bundles=() others=()\n";
  s += "  for d in \"${COMPREPLY[@]}\"; do\n";
  s += "    path=${d/#\\~/$HOME}\n";
  s += "    if [[ -f $path/model.ubj || -f $path/contract.json ]]; then\n";
  s += "      bundles+=(\"$d\")\n";
  s += "    else\n";
  s += "      others+=(\"$d\")\n";
  s += "    fi\n";
  s += "  done\n";
  s += "  COMPREPLY=(\"${bundles[@]}\" \"${others[@]}\")\n";
  s += "  ((${#bundles[@]})) && compopt -o nosort 2>/dev/null\n";
  s += "  return 0\n";
  s += "}\n\n";
  s += "# Readline replaces only what follows the last ':' of the word (one of its word breaks):\n";
  s += "# drop what comes before from each candidate, as bash-completion does.\n";
  s += fn + "_colon_trim() {\n";
  s += "  if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then\n";
  s += "    local i prefix=${cur%\"${cur##*:}\"}\n";
  s += "    for i in \"${!COMPREPLY[@]}\"; do\n";
  s += "      COMPREPLY[i]=${COMPREPLY[i]#\"$prefix\"}\n";
  s += "    done\n";
  s += "  fi\n";
  s += "}\n\n";

  // Which options take a value, per command: needed to find the command and count positionals.
  s += "# Succeeds when option $2 of command $1 ('' before the command) takes a value.\n";
  s += fn + "_takes_value() {\n";
  s += "  case $1:$2 in\n";
  std::vector<std::string> pats;
  for (const auto& g : m.globals)
    if (g.takes_value())
      for (const auto& f : g.flags()) pats.push_back("*:" + f);
  for (const auto& c : m.commands)
    for (const auto& o : c.options)
      if (o.takes_value())
        for (const auto& f : o.flags()) pats.push_back(c.name + ":" + f);
  if (!pats.empty()) s += "    " + join(pats, " | ") + ") return 0 ;;\n";
  s += "  esac\n";
  s += "  return 1\n";
  s += "}\n\n";

  s += fn + "() {\n";
  s += "  local cur prev words cword split=false\n";
  s += "  if declare -F _init_completion >/dev/null; then\n";
  s += "    _init_completion -s -n : || return\n";
  s += "  else\n";
  s += "    COMPREPLY=()\n";
  s += "    words=(\"${COMP_WORDS[@]}\")\n";
  s += "    cword=$COMP_CWORD\n";
  s += "    cur=${words[cword]}\n";
  s += "    prev=${words[cword - 1]}\n";
  s += "  fi\n\n";
  s += "  # The command is the first word that is neither an option nor an option's value;\n";
  s += "  # the words after it that are neither are its positional arguments.\n";
  s += "  local cmd='' npos=0 i w\n";
  s += "  for ((i = 1; i < cword; i++)); do\n";
  s += "    w=${words[i]}\n";
  s += "    if [[ $w == -?* ]]; then\n";
  s += "      if [[ $w != *=* ]] && " + fn + "_takes_value \"$cmd\" \"$w\"; then\n";
  s += "        ((i++))\n";
  s += "        [[ ${words[i]-} == = ]] && ((i++))\n";
  s += "      fi\n";
  s += "    elif [[ -z $cmd ]]; then\n";
  s += "      cmd=$w\n";
  s += "    else\n";
  s += "      ((npos++))\n";
  s += "    fi\n";
  s += "  done\n\n";

  s += "  # The value of an option.\n";
  s += "  case $cmd in\n";
  for (const auto& c : m.commands) {
    std::string arms = bash_value_arms(c.options, "        ", fn);
    if (arms.empty()) continue;
    s += "    " + c.name + ")\n";
    s += "      case $prev in\n" + arms + "      esac\n";
    s += "      ;;\n";
  }
  s += "  esac\n";
  std::string global_arms = bash_value_arms(m.globals, "    ", fn);
  if (!global_arms.empty()) s += "  case $prev in\n" + global_arms + "  esac\n";
  s += "  $split && return\n\n";

  s += "  # An option name.\n";
  s += "  if [[ $cur == -* ]]; then\n";
  s += "    case $cmd in\n";
  s += "      '') mapfile -t COMPREPLY < <(compgen -W " +
       sh_quote(join(all_flags(m.globals), " ")) + " -- \"$cur\") ;;\n";
  for (const auto& c : m.commands) {
    s += "      " + c.name + ") mapfile -t COMPREPLY < <(compgen -W " +
         sh_quote(join(all_flags(options_after_command(m, c)), " ")) + " -- \"$cur\") ;;\n";
  }
  s += "    esac\n";
  s += "    return\n";
  s += "  fi\n\n";

  s += "  # The command, then its positional arguments.\n";
  s += "  case $cmd in\n";
  std::vector<std::string> names;
  for (const auto& c : m.commands) names.push_back(c.name);
  s += "    '') mapfile -t COMPREPLY < <(compgen -W " + sh_quote(join(names, " ")) +
       " -- \"$cur\") ;;\n";
  for (const auto& c : m.commands) {
    if (c.positionals.empty()) continue;
    s += "    " + c.name + ")\n";
    for (size_t i = 0; i < c.positionals.size(); ++i) {
      const auto& pos = c.positionals[i];
      std::string test =
          pos.repeatable ? "npos >= " + std::to_string(i) : "npos == " + std::to_string(i);
      s += std::string("      ") + (i ? "elif" : "if") + " ((" + test + ")); then\n";
      s += "        " + bash_action(pos, fn) + "\n";
    }
    s += "      fi\n";
    s += "      ;;\n";
  }
  s += "  esac\n";
  s += "}\n\n";
  s += "complete -F " + fn + " " + p + "\n";
  return s;
}

namespace {

// The action of an _arguments spec (inside its single quotes) for the value `a` takes.
std::string zsh_action(const CompletionArg& a, const std::string& program) {
  switch (a.kind) {
    case ValueKind::choice: {
      std::vector<std::string> values;
      for (const auto& c : a.choices) values.push_back(zsh_colon_text(c));
      return "(" + join(values, " ") + ")";
    }
    case ValueKind::file:
      if (a.extensions.empty()) return "_files";
      // One extension alone: *.(json) would be *. with glob qualifiers.
      if (a.extensions.size() == 1) return "_files -g \"*." + a.extensions.front() + "\"";
      return "_files -g \"*.(" + join(a.extensions, "|") + ")\"";
    case ValueKind::directory:
      return "_files -/";
    case ValueKind::bundle:
      return "_" + program + "_bundles";
    default:
      return " ";
  }
}

// One _arguments spec per option: '(-o --output)'{-o+,--output=}'[Output file]:PATH:_files'.
std::string zsh_option_spec(const CompletionArg& o, const std::string& program) {
  auto flags = o.flags();
  std::string action;
  if (o.takes_value()) action = ":" + zsh_colon_text(o.value_name) + ":" + zsh_action(o, program);
  std::vector<std::string> names;
  for (const auto& s : o.shorts) names.push_back("-" + s + (o.takes_value() ? "+" : ""));
  for (const auto& l : o.longs) names.push_back("--" + l + (o.takes_value() ? "=" : ""));
  std::string exclusion = o.repeatable ? "*" : "(" + join(flags, " ") + ")";
  std::string tail = "[" + zsh_bracket_text(o.description) + "]" + action;
  if (names.size() == 1) {
    std::string lead = o.repeatable ? "*" : "";
    return "'" + lead + names.front() + tail + "'";
  }
  return "'" + exclusion + "'{" + join(names, ",") + "}'" + tail + "'";
}

std::string zsh_positional_spec(const CompletionArg& p, size_t index, const std::string& program) {
  std::string lead = p.repeatable ? "*" : std::to_string(index + 1);
  return "'" + lead + ":" + zsh_colon_text(p.value_name) + ":" + zsh_action(p, program) + "'";
}

std::string zsh_function_name(const std::string& program, const std::string& command) {
  std::string name = "_" + program + "_" + command;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

}  // namespace

std::string zsh_script(const CompletionModel& m) {
  const std::string& p = m.program;
  std::string s;
  s += "#compdef " + p + "\n";
  s += "# zsh completion for " + p + "\n";
  s +=
      "# Generated by '" + p + " completion zsh' from the command-line definitions; do not edit.\n";
  s += "# Install as _" + p + " in a directory of $fpath.\n\n";
  s += "# Model bundles: directories, those holding a model (model.ubj or contract.json) first.\n";
  s += "_" + p + "_is_bundle() { [[ -f $REPLY/model.ubj || -f $REPLY/contract.json ]] }\n";
  s += "_" + p + "_bundles() {\n";
  s += "  local -a expl\n";
  s += "  local ret=1\n";
  s += "  _wanted bundles expl 'model bundle' _path_files -g '*(-/+_" + p +
       "_is_bundle)' && ret=0\n";
  s += "  _wanted directories expl directory _path_files -/ && ret=0\n";
  s += "  return ret\n";
  s += "}\n\n";

  for (const auto& c : m.commands) {
    s += zsh_function_name(p, c.name) + "() {\n";
    s += "  _arguments -s -S";
    for (const auto& o : options_after_command(m, c)) s += " \\\n    " + zsh_option_spec(o, p);
    for (size_t i = 0; i < c.positionals.size(); ++i)
      s += " \\\n    " + zsh_positional_spec(c.positionals[i], i, p);
    s += "\n}\n\n";
  }

  s += "_" + p + "() {\n";
  s += "  local curcontext=$curcontext state line ret=1\n";
  s += "  typeset -A opt_args\n";
  s += "  _arguments -C -s -S";
  for (const auto& g : m.globals) s += " \\\n    " + zsh_option_spec(g, p);
  s += " \\\n    '1:command:->command'";
  s += " \\\n    '*::argument:->argument' && ret=0\n";
  s += "  case $state in\n";
  s += "    command)\n";
  s += "      local -a commands=(\n";
  for (const auto& c : m.commands)
    s += "        '" + zsh_colon_text(c.name) + ":" + zsh_colon_text(c.description) + "'\n";
  s += "      )\n";
  s += "      _describe -t commands '" + p + " command' commands && ret=0\n";
  s += "      ;;\n";
  s += "    argument)\n";
  s += "      curcontext=${curcontext%:*:*}:" + p + "-$line[1]:\n";
  s += "      case $line[1] in\n";
  for (const auto& c : m.commands)
    s += "        " + c.name + ") " + zsh_function_name(p, c.name) + " && ret=0 ;;\n";
  s += "      esac\n";
  s += "      ;;\n";
  s += "  esac\n";
  s += "  return ret\n";
  s += "}\n\n";
  s += "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n";
  s += "  _" + p + " \"$@\"\n";
  s += "else\n";
  s += "  compdef _" + p + " " + p + "\n";
  s += "fi\n";
  return s;
}

namespace {

// A regular expression for names ending in one of `extensions`, quoted for fish; the group
// does not capture, as `string match -r` would print what it captured too.
std::string fish_regex(const std::vector<std::string>& extensions) {
  std::vector<std::string> escaped;
  for (const auto& e : extensions) {
    std::string x;
    for (char c : e) {
      if (c == '.') x += "\\";
      x += c;
    }
    escaped.push_back(x);
  }
  return fish_quote("^.*\\.(?:" + join(escaped, "|") + ")$");
}

std::string fish_option_line(const std::string& program, const std::string& condition,
                             const CompletionArg& o) {
  std::string line = "complete -c " + program;
  if (!condition.empty()) line += " -n " + fish_quote(condition);
  for (const auto& sname : o.shorts) line += " -s " + sname;
  for (const auto& lname : o.longs) line += " -l " + lname;
  switch (o.kind) {
    case ValueKind::choice:
      line += " -x -a " + fish_quote(join(o.choices, " "));
      break;
    case ValueKind::file:
      if (o.extensions.empty()) {
        line += " -r -F";
      } else {
        line +=
            " -x -k -a " + fish_quote("(__" + program + "_files " + fish_regex(o.extensions) + ")");
      }
      break;
    case ValueKind::directory:
      line += " -x -a '(__fish_complete_directories)'";
      break;
    case ValueKind::bundle:
      line += " -x -k -a '(__" + program + "_bundles)'";
      break;
    case ValueKind::text:
      line += " -x";
      break;
    case ValueKind::none:
      break;
  }
  return line + " -d " + fish_quote(o.description) + "\n";
}

}  // namespace

std::string fish_script(const CompletionModel& m) {
  const std::string& p = m.program;
  std::string s;
  s += "# fish completion for " + p + "\n";
  s += "# Generated by '" + p +
       " completion fish' from the command-line definitions; do not edit.\n";
  s += "# Install as " + p + ".fish in a directory of $fish_complete_path.\n\n";
  std::vector<std::string> names;
  for (const auto& c : m.commands) names.push_back(c.name);
  const std::string all = join(names, " ");
  const std::string before = "not __fish_seen_subcommand_from " + all;

  s += "# Files whose names match the regular expression $argv[1], then directories.\n";
  s += "function __" + p + "_files\n";
  s += "    set -l paths (complete -C \"__fish_command_without_completions \"(commandline -ct) | "
       "string replace -r '\\t.*' '')\n";
  s += "    string match -r -- $argv[1] $paths\n";
  s += "    string match -r -- '^.*/$' $paths\n";
  s += "end\n\n";
  s += "# Model bundles: directories, those holding a model (model.ubj or contract.json) first.\n";
  s += "function __" + p + "_bundles\n";
  s += "    set -l dirs (__fish_complete_directories (commandline -ct) | string replace -r '\\t.*' "
       "'')\n";
  s += "    for d in $dirs\n";
  s += "        test -f $d/model.ubj -o -f $d/contract.json; and printf '%s\\t%s\\n' $d 'model "
       "bundle'\n";
  s += "    end\n";
  s += "    for d in $dirs\n";
  s += "        test -f $d/model.ubj -o -f $d/contract.json; or printf '%s\\t%s\\n' $d directory\n";
  s += "    end\n";
  s += "end\n\n";
  s += "# No file names unless an argument takes them.\n";
  s += "complete -c " + p + " -f\n\n";
  s += "# Commands.\n";
  for (const auto& c : m.commands)
    s += "complete -c " + p + " -n " + fish_quote(before) + " -a " + c.name + " -d " +
         fish_quote(c.description) + "\n";

  // A global option is offered everywhere unless a command defines the same name (--help).
  std::set<std::string> command_flags;
  for (const auto& c : m.commands)
    for (const auto& o : c.options)
      for (const auto& f : o.flags()) command_flags.insert(f);
  s += "\n# Global options.\n";
  for (const auto& g : m.globals) {
    auto flags = g.flags();
    bool shadowed = std::any_of(flags.begin(), flags.end(),
                                [&](const std::string& f) { return command_flags.count(f) > 0; });
    s += fish_option_line(p, shadowed ? before : "", g);
  }

  for (const auto& c : m.commands) {
    const std::string in = "__fish_seen_subcommand_from " + c.name;
    s += "\n# " + p + " " + c.name + "\n";
    for (const auto& o : c.options) s += fish_option_line(p, in, o);
    for (const auto& pos : c.positionals) {
      switch (pos.kind) {
        case ValueKind::choice:
          s += "complete -c " + p + " -n " + fish_quote(in) + " -a " +
               fish_quote(join(pos.choices, " ")) + " -d " + fish_quote(pos.description) + "\n";
          break;
        case ValueKind::file:
          if (pos.extensions.empty()) {
            s += "complete -c " + p + " -n " + fish_quote(in) + " -F\n";
          } else {
            s += "complete -c " + p + " -n " + fish_quote(in) + " -k -a " +
                 fish_quote("(__" + p + "_files " + fish_regex(pos.extensions) + ")") + "\n";
          }
          break;
        case ValueKind::directory:
          s += "complete -c " + p + " -n " + fish_quote(in) +
               " -a '(__fish_complete_directories)'\n";
          break;
        case ValueKind::bundle:
          s += "complete -c " + p + " -n " + fish_quote(in) + " -k -a '(__" + p + "_bundles)'\n";
          break;
        default:
          break;
      }
    }
  }
  return s;
}

std::span<const std::string_view> completion_shells() {
  static constexpr std::array<std::string_view, 3> kShells = {"bash", "zsh", "fish"};
  return kShells;
}

std::string completion_script(const CLI::App& root, std::string_view shell) {
  CompletionModel m = describe(root);
  if (shell == "bash") return bash_script(m);
  if (shell == "zsh") return zsh_script(m);
  if (shell == "fish") return fish_script(m);
  throw UsageError("no completion for shell '" + std::string(shell) +
                   "'; pick one of bash, zsh, fish");
}

}  // namespace cdn::cli
