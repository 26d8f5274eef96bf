#include "cmd/commands.hpp"

namespace cdn::cmd {

namespace {
const Command kCommands[] = {
    {"sort", "Order records by a key (default timestamp); stable, spills to disk", setup_sort},
    {"tag", "Attach a sample ID to every record (sequence, UUIDv7 or content hash)", setup_tag},
    {"validate", "Check records against a JSON Schema, optionally coercing them to fit",
     setup_validate},
#ifdef CDN_WITH_KAFKA
    {"produce", "Publish records to one or more Kafka topics, optionally paced", setup_produce},
    {"consume", "Read Kafka topics to NDJSON", setup_consume},
    {"topics",
     "Show Kafka topics: partitions, leaders and watermarks; with -G a group's committed "
     "offsets and lag",
     setup_topics},
#endif
#ifdef CDN_WITH_XGBOOST
    {"train", "Train an XGBoost model from CSV or NDJSON records into a model bundle", setup_train},
    {"predict", "Apply a model bundle to a stream of records", setup_predict},
    {"eval", "Judge a model bundle on labelled records: the metrics of its objective", setup_eval},
#endif
#ifdef CDN_WITH_INFLUX
    {"load-influx", "Write records and predictions into InfluxDB (1.x and 2.x HTTP APIs)",
     setup_load_influx},
#endif
#ifdef CDN_WITH_KAFKA
    {"broker", "Run a local Kafka cluster for development and tests (mock)", setup_broker},
#endif
    {"gen", "Generate realistic synthetic CDN telemetry", setup_gen},
    {"completion", "Print a shell completion script (bash, zsh or fish)", setup_completion},
};
}  // namespace

std::span<const Command> commands() {
  return kCommands;
}

}  // namespace cdn::cmd
