// cdn train: placeholder until the command lands; it refuses to run.
#include "cmd/commands.hpp"
#include "common/diag/errors.hpp"

namespace cdn::cmd {

Runner setup_train(CLI::App& app) {
  (void)app;
  return []() -> int { throw RuntimeError("cdn train is not implemented yet"); };
}

}  // namespace cdn::cmd
