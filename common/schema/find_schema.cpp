// Where cdn's own schemas are: the environment, the installed tree, the source tree.
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/schema/validator.hpp"

namespace cdn::schema {

std::string find_schema(const std::string& file) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("CDN_SCHEMA_DIR"); env && *env) dirs.emplace_back(env);
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    std::string dir(exe, static_cast<size_t>(n));
    dir = dir.substr(0, dir.rfind('/'));
    dirs.push_back(dir + "/../share/cdn/schemas");
  }
#ifdef CDN_SOURCE_SCHEMA_DIR
  dirs.emplace_back(CDN_SOURCE_SCHEMA_DIR);
#endif
  dirs.emplace_back(CDN_SCHEMA_DIR);
  for (const auto& d : dirs) {
    std::string p = d + "/" + file;
    if (access(p.c_str(), R_OK) == 0) return p;
  }
  std::string tried;
  for (const auto& d : dirs) {
    if (!tried.empty()) tried += ", ";
    tried += d;
  }
  throw UsageError("cannot find the schema " + diag::quoted(file) + " (looked in " + tried +
                   "); give one with --schema or set CDN_SCHEMA_DIR");
}

}  // namespace cdn::schema
