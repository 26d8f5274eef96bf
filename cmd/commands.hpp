// The command table: every `cdn` subcommand, in the order `cdn --help` lists them.
//
// Adding a command, the checklist:
//   1. cmd/NAME.cpp with `Runner setup_NAME(CLI::App&)`: options and a short run; the
//      work itself lives in common/.
//   2. Its line in kCommands (cmd/commands.cpp) and the file in CMakeLists.txt.
//   3. tests/cli/NAME.bats, man/cdn-NAME.1, its entries in completions/ (bash, zsh, fish).
//   4. A [NAME] example in docs/config.toml if it has options worth configuring.
// tests/cli/commands.bats checks 3 for every command in the table.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <span>
#include <string_view>

namespace cdn::cmd {

// Runs the command after parsing; returns an exit status (see common/diag/errors.hpp).
// Errors are thrown (cdn::UsageError, cdn::RuntimeError); only main turns them into a status.
using Runner = std::function<int()>;

struct Command {
  std::string_view name;
  std::string_view summary;
  Runner (*setup)(CLI::App& app);
};

std::span<const Command> commands();

Runner setup_sort(CLI::App& app);
Runner setup_tag(CLI::App& app);
Runner setup_gen(CLI::App& app);
Runner setup_validate(CLI::App& app);
#ifdef CDN_WITH_KAFKA
Runner setup_produce(CLI::App& app);
Runner setup_consume(CLI::App& app);
Runner setup_topics(CLI::App& app);
Runner setup_broker(CLI::App& app);
#endif
#ifdef CDN_WITH_XGBOOST
Runner setup_train(CLI::App& app);
Runner setup_predict(CLI::App& app);
Runner setup_eval(CLI::App& app);
#endif
#ifdef CDN_WITH_INFLUX
Runner setup_load_influx(CLI::App& app);
#endif
Runner setup_completion(CLI::App& app);

}  // namespace cdn::cmd
