// Shell completion scripts derived from the CLI11 definitions. Every option is defined once,
// in a command's setup function; describe() reads the App tree back (subcommands, options,
// which take values, choices from IsMember, file or directory hints from the type name, and
// the hints complete_files and complete_values attach) and the writers turn that description
// into a bash, zsh or fish script.
#pragma once

#include <CLI/CLI.hpp>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cdn::cli {

// What the value of an option or a positional argument completes to.
enum class ValueKind {
  none,       // a flag: no value
  text,       // free text: nothing to offer
  file,       // a path (type name FILE, PATH or INPUT); of `extensions` when there are any
  directory,  // a directory (type name DIR)
  bundle,     // a model bundle: any directory, those holding model.ubj first (type MODEL_DIR)
  choice,     // one of `choices` (from CLI::IsMember, or offered by complete_values)
};

// Hints for what the type name does not say, attached to an option where it is defined:
//   ->check(cli::complete_files(cli::record_extensions()))  files of these formats (and
//                                                            directories to reach them)
//   ->check(cli::complete_values({"beginning", "end"}))     values offered; others are
//                                                            accepted too (an open set)
// They check nothing and show nothing in --help.
CLI::Validator complete_files(const std::vector<std::string>& extensions);
CLI::Validator complete_values(const std::vector<std::string>& values);
// What the record-reading commands read: ndjson, jsonl, json and csv, each optionally .gz.
const std::vector<std::string>& record_extensions();

struct CompletionArg {
  std::vector<std::string> shorts;  // "o" for -o
  std::vector<std::string> longs;   // "output" for --output
  std::string value_name;           // "PATH", as in --help; the positional's name if none
  std::string description;
  ValueKind kind = ValueKind::none;
  std::vector<std::string> choices;
  std::vector<std::string> extensions;  // "ndjson", "csv.gz": a file's name ends in .EXT
  bool repeatable = false;              // may be given more than once (-vv, several inputs)

  bool takes_value() const { return kind != ValueKind::none; }
  // "-o" and "--output", short names first.
  std::vector<std::string> flags() const;
};

struct CompletionCommand {
  std::string name;
  std::string description;  // its first sentence
  std::vector<CompletionArg> options;
  std::vector<CompletionArg> positionals;  // in order; only the last may be repeatable
};

struct CompletionModel {
  std::string program;                 // "cdn"
  std::vector<CompletionArg> globals;  // the root's options
  std::vector<CompletionCommand> commands;
};

// Reads the tree under `root` (its options and its named subcommands, hidden options left out).
CompletionModel describe(const CLI::App& root);

std::string bash_script(const CompletionModel& model);
std::string zsh_script(const CompletionModel& model);
std::string fish_script(const CompletionModel& model);

// The shells completion_script() knows: bash, zsh, fish.
std::span<const std::string_view> completion_shells();

// The completion script for `shell`; throws cdn::UsageError for a shell it does not know.
std::string completion_script(const CLI::App& root, std::string_view shell);

}  // namespace cdn::cli
