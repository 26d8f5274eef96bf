#include "cmd/commands.hpp"
#include "common/diag/errors.hpp"

namespace cdn::cmd {
Runner setup_produce(CLI::App&) {
  return []() -> int { throw UsageError("'produce' is being built; it does nothing yet"); };
}
}  // namespace cdn::cmd
