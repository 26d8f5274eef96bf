#include "common/diag/errors.hpp"
#include "common/io/sink.hpp"
#include "common/kafka/client.hpp"

namespace cdn::kafka {
std::unique_ptr<io::Sink> open_topic_sink(const std::string& topic) {
  throw UsageError("kafka:" + topic + " as an output is being built");
}
}  // namespace cdn::kafka
