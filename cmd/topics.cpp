// cdn topics: a Kafka cluster at a glance: each topic's partitions with leader, replicas,
// in-sync replicas and watermarks (what `kcat -L` and `kcat -Q` show) and, with -G, a consumer
// group's committed offset and lag on each partition (what `kafka-consumer-groups --describe`
// shows). One command rather than two: the lag of a group is the same table with two more
// columns, read with the same -b/-X/--timeout, so `cdn topics` answers "what is there" and
// `cdn topics -G GROUP` "how far behind is this group". A table on stdout, or NDJSON with --json,
// one line per partition.
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "cmd/commands.hpp"
#include "common/base/json_text.hpp"
#include "common/cli/options.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/endpoint/endpoint.hpp"
#include "common/io/sink.hpp"
#include "common/io/std_fds.hpp"
#include "common/kafka/client.hpp"
#include "common/kafka/topics.hpp"

namespace cdn::cmd {

namespace {
struct TopicsArgs {
  std::vector<std::string> topics;  // -t
  std::vector<std::string> names;   // positional: TOPIC or kafka:TOPIC
  std::string group;
  bool json = false;
};

std::string ids_text(const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) out += (out.empty() ? "" : ",") + std::to_string(id);
  return out.empty() ? "-" : out;
}

std::string ids_json(const std::vector<int32_t>& ids) {
  std::string out = "[";
  for (int32_t id : ids) out += (out.size() > 1 ? "," : "") + std::to_string(id);
  return out + "]";
}

std::string number_text(const std::optional<int64_t>& v) {
  return v ? std::to_string(*v) : "-";
}

std::string number_json(const std::optional<int64_t>& v) {
  return v ? std::to_string(*v) : "null";
}

// Columns padded to their widest cell: text to the left, numbers to the right.
std::string table_text(const kafka::TopicsView& view, bool group) {
  std::vector<std::string> head = {"TOPIC", "PARTITION", "LEADER", "REPLICAS",
                                   "ISR",   "LOW",       "HIGH"};
  if (group) {
    head.emplace_back("COMMITTED");
    head.emplace_back("LAG");
  }
  std::vector<std::vector<std::string>> rows = {head};
  for (const auto& p : view.partitions) {
    std::vector<std::string> r = {p.topic,
                                  std::to_string(p.partition),
                                  p.leader < 0 ? "-" : std::to_string(p.leader),
                                  ids_text(p.replicas),
                                  ids_text(p.isr),
                                  number_text(p.low),
                                  number_text(p.high)};
    if (group) {
      r.push_back(number_text(p.committed));
      r.push_back(number_text(p.lag));
    }
    rows.push_back(std::move(r));
  }
  std::vector<size_t> width(head.size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      std::string pad(width[i] - r[i].size(), ' ');
      bool left = i == 0 || i == 3 || i == 4;  // topic, replicas, isr
      if (i > 0) line += "  ";
      line += left ? r[i] + (i + 1 < r.size() ? pad : "") : pad + r[i];
    }
    out += line + "\n";
  }
  return out;
}

std::string json_lines(const kafka::TopicsView& view, const std::string& group) {
  std::string out;
  for (const auto& p : view.partitions) {
    out += "{\"topic\":";
    base::append_json_string(out, p.topic);
    out += ",\"partition\":" + std::to_string(p.partition);
    out += ",\"leader\":" + (p.leader < 0 ? std::string("null") : std::to_string(p.leader));
    out += ",\"replicas\":" + ids_json(p.replicas) + ",\"isr\":" + ids_json(p.isr);
    out += ",\"low\":" + number_json(p.low) + ",\"high\":" + number_json(p.high);
    if (!group.empty()) {
      out += ",\"group\":";
      base::append_json_string(out, group);
      out += ",\"committed\":" + number_json(p.committed) + ",\"lag\":" + number_json(p.lag);
    }
    if (!p.error.empty()) {
      out += ",\"error\":";
      base::append_json_string(out, p.error);
    }
    out += "}\n";
  }
  return out;
}

int run_topics(TopicsArgs& a) {
  io::require_stdout("the topics", "redirect stdout to a file (> FILE)");
  kafka::TopicsQuery q;
  q.topics = a.topics;
  for (const auto& n : a.names) q.topics.push_back(endpoint::kafka_topic(n).value_or(n));
  q.group = a.group;
  q.timeout_ms = kafka::settings().timeout_ms;
  kafka::TopicsView view = kafka::read_topics(q);

  std::string text = a.json ? json_lines(view, q.group) : table_text(view, !q.group.empty());
  if (!a.json && view.partitions.empty()) text.clear();  // no table of a header alone
  io::write_all(STDOUT_FILENO, text.data(), text.size(), "stdout", true);

  size_t topics = 0;
  for (size_t i = 0; i < view.partitions.size(); ++i)
    if (i == 0 || view.partitions[i].topic != view.partitions[i - 1].topic) ++topics;
  std::string summary = std::to_string(topics) + (topics == 1 ? " topic, " : " topics, ") +
                        std::to_string(view.partitions.size()) +
                        (view.partitions.size() == 1 ? " partition" : " partitions");
  if (!view.internal.empty()) {
    summary +=
        " (" + std::to_string(view.internal.size()) + " internal not shown; name one to see it)";
  }
  diag::summary(summary);
  if (view.failed > 0) {
    std::string first;
    for (const auto& p : view.partitions) {
      if (!p.error.empty()) {
        first = diag::quoted(p.topic + "/" + std::to_string(p.partition)) + ": " + p.error;
        break;
      }
    }
    throw RuntimeError("cannot read the watermarks of " + std::to_string(view.failed) + " of " +
                       std::to_string(view.partitions.size()) +
                       " partitions (shown as '-'), first " + first +
                       "; check that their leaders run, or raise --timeout");
  }
  return kExitOk;
}
}  // namespace

Runner setup_topics(CLI::App& app) {
  auto a = std::make_shared<TopicsArgs>();
  app.add_option("topics", a->names,
                 "Topics to show (default: every topic but Kafka's internal ones; with -G, "
                 "the group's); kafka:TOPIC works too")
      ->type_name("TOPIC");
  app.add_option("-t,--topic", a->topics, "Topic to show (repeatable), like a TOPIC argument")
      ->type_name("TOPIC")
      ->allow_extra_args(false);
  app.add_option("-G,--group", a->group,
                 "Also show this consumer group's committed offset and lag on each partition")
      ->type_name("GROUP");
  app.add_flag("--json", a->json,
               "Write one JSON object a line per partition (NDJSON) instead of a table");
  cli::add_kafka_options(app, false);
  cli::add_examples(app, {"cdn topics -b localhost:9092 cdndata cdnresult",
                          "cdn topics -G cdn-predict --json | jq -s 'map(.lag) | add'"});
  return [a] { return run_topics(*a); };
}

}  // namespace cdn::cmd
