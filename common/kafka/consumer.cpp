#include "common/diag/errors.hpp"
#include "common/io/source.hpp"
#include "common/kafka/client.hpp"

namespace cdn::kafka {
std::unique_ptr<io::Source> open_topic_source(const std::string& topic, pipeline::Counts&) {
  throw UsageError("kafka:" + topic + " as an input is being built");
}
}  // namespace cdn::kafka
