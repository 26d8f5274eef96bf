#include "cmd/commands.hpp"

namespace cdn::cmd {

namespace {
const Command kCommands[] = {
    {"sort", "Order records by a key (default timestamp); stable, spills to disk", setup_sort},
    {"tag", "Attach a sample ID to every record (sequence, UUIDv7 or content hash)", setup_tag},
    {"gen", "Generate realistic synthetic CDN telemetry", setup_gen},
#ifdef CDN_WITH_KAFKA
    {"produce", "Publish records to one or more Kafka topics, optionally paced", setup_produce},
    {"consume", "Read Kafka topics to NDJSON", setup_consume},
    {"broker", "Run a local Kafka cluster for development and tests (mock)", setup_broker},
#endif
    {"completion", "Print a shell completion script (bash, zsh or fish)", setup_completion},
};
}  // namespace

std::span<const Command> commands() {
  return kCommands;
}

}  // namespace cdn::cmd
