#include "cmd/commands.hpp"
#include "common/diag/errors.hpp"

namespace cdn::cmd {
Runner setup_tag(CLI::App&) {
  return [] { return kExitOk; };
}
}  // namespace cdn::cmd
