#include "cmd/commands.hpp"
#include "common/diag/errors.hpp"

namespace cdn::cmd {
Runner setup_consume(CLI::App&) {
  return []() -> int { throw UsageError("'consume' is being built; it does nothing yet"); };
}
}  // namespace cdn::cmd
