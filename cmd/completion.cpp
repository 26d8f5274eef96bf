// cdn completion: print a bash, zsh or fish completion script for the whole command tree,
// derived from the same CLI11 definitions that parse the command line.
#include <unistd.h>

#include <memory>

#include "cmd/commands.hpp"
#include "common/cli/completion.hpp"
#include "common/cli/options.hpp"
#include "common/diag/errors.hpp"
#include "common/io/sink.hpp"
#include "common/io/std_fds.hpp"

namespace cdn::cmd {

namespace {
struct CompletionArgs {
  std::string shell;
};
}  // namespace

Runner setup_completion(CLI::App& app) {
  auto a = std::make_shared<CompletionArgs>();
  std::vector<std::string> shells(cli::completion_shells().begin(), cli::completion_shells().end());
  app.add_option("shell", a->shell, "The shell to write a completion script for")
      ->type_name("SHELL")
      ->check(CLI::IsMember(shells))
      ->required();
  cli::add_examples(app, {"cdn completion bash > ~/.local/share/bash-completion/completions/cdn",
                          "cdn completion zsh > \"${fpath[1]}/_cdn\"",
                          "cdn completion fish > ~/.config/fish/completions/cdn.fish"});
  const CLI::App* root = app.get_parent();
  return [a, root] {
    io::require_stdout("the completion script", "redirect stdout to a file (> FILE)");
    std::string script = cli::completion_script(*root, a->shell);
    io::write_all(STDOUT_FILENO, script.data(), script.size(), "stdout", true);
    return kExitOk;
  };
}

}  // namespace cdn::cmd
