#include "cmd/commands.hpp"
#include "common/diag/errors.hpp"

namespace cdn::cmd {
Runner setup_broker(CLI::App&) {
  return []() -> int { throw UsageError("'broker' is being built; it does nothing yet"); };
}
}  // namespace cdn::cmd
