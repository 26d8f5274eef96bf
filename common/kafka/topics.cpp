#include "common/kafka/topics.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "common/base/nearest.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/kafka/client.hpp"

namespace cdn::kafka {

namespace {

struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};
using Metadata = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;

// The last error librdkafka reported (its error callback): why the brokers did not answer.
struct Errors {
  std::string last;
  static void on_error(rd_kafka_t*, int, const char* reason, void* opaque) {
    static_cast<Errors*>(opaque)->last = reason;
  }
  static void on_log(const rd_kafka_t*, int, const char* fac, const char* buf) {
    diag::debug(std::string("librdkafka ") + fac + ": " + buf);
  }
};

Handle open_client(const TopicsQuery& q, Errors& errors) {
  std::vector<std::pair<std::string, std::string>> defaults = {{"enable.auto.commit", "false"}};
  if (!q.group.empty()) defaults.emplace_back("group.id", q.group);
  Conf conf = make_conf(defaults);
  rd_kafka_conf_set_opaque(conf.get(), &errors);
  rd_kafka_conf_set_error_cb(conf.get(), &Errors::on_error);
  rd_kafka_conf_set_log_cb(conf.get(), &Errors::on_log);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err);
  if (rk == nullptr) throw UsageError(std::string("cannot create a Kafka client: ") + err);
  conf.release();  // owned by the handle now
  return Handle(rk);
}

RuntimeError unreachable(rd_kafka_resp_err_t e, const Errors& errors, int timeout_ms) {
  std::string why = errors.last.empty() ? rd_kafka_err2str(e) : errors.last;
  return RuntimeError("cannot reach the Kafka brokers " + diag::quoted(settings().brokers) +
                      " within " + std::to_string(timeout_ms) + " ms: " + why +
                      "; check -b/--brokers (or CDN_BROKERS) and that the brokers run, or "
                      "raise --timeout");
}

std::string list_text(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + diag::quoted(n);
  return out;
}

// The partitions of the topics to show, from the metadata of the whole cluster.
std::vector<PartitionState> partitions_of(const rd_kafka_metadata_t& md, const TopicsQuery& q,
                                          std::vector<std::string>& internal) {
  std::map<std::string, const rd_kafka_metadata_topic_t*> by_name;
  for (int i = 0; i < md.topic_cnt; ++i) {
    const auto& t = md.topics[i];
    if (t.err == RD_KAFKA_RESP_ERR_NO_ERROR) by_name[t.topic] = &t;
  }
  std::vector<std::string> names;
  if (q.topics.empty()) {
    for (const auto& [name, t] : by_name) {
      if (name.rfind("__", 0) == 0) {
        internal.push_back(name);
      } else {
        names.push_back(name);
      }
    }
  } else {
    std::set<std::string> seen;
    for (const auto& name : q.topics) {
      if (name.empty()) throw UsageError("an empty topic name; name topics as they are in Kafka");
      if (!seen.insert(name).second) continue;
      if (by_name.count(name) == 0) {
        std::vector<std::string> all;
        for (const auto& [n, t] : by_name) all.push_back(n);
        auto near = base::nearest(name, all);
        throw RuntimeError("no topic " + diag::quoted(name) + " on " +
                           diag::quoted(settings().brokers) +
                           (near ? " (did you mean " + diag::quoted(*near) + "?)" : "") +
                           "; check the topic name, or run 'cdn topics' for the topics there");
      }
      names.push_back(name);
    }
    std::sort(names.begin(), names.end());
  }
  std::vector<PartitionState> out;
  for (const auto& name : names) {
    const rd_kafka_metadata_topic_t& t = *by_name[name];
    std::vector<PartitionState> parts;
    for (int i = 0; i < t.partition_cnt; ++i) {
      const auto& p = t.partitions[i];
      PartitionState s;
      s.topic = name;
      s.partition = p.id;
      s.leader = p.leader;
      s.replicas.assign(p.replicas, p.replicas + p.replica_cnt);
      s.isr.assign(p.isrs, p.isrs + p.isr_cnt);
      parts.push_back(std::move(s));
    }
    std::sort(parts.begin(), parts.end(), [](const PartitionState& a, const PartitionState& b) {
      return a.partition < b.partition;
    });
    for (auto& s : parts) out.push_back(std::move(s));
  }
  return out;
}

// The group's committed offsets on `parts`, in one request to its coordinator.
void read_committed(rd_kafka_t* rk, std::vector<PartitionState>& parts, const TopicsQuery& q,
                    const Errors& errors) {
  if (parts.empty()) return;
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
  for (const auto& s : parts)
    rd_kafka_topic_partition_list_add(list.get(), s.topic.c_str(), s.partition);
  rd_kafka_resp_err_t e = rd_kafka_committed(rk, list.get(), q.timeout_ms);
  if (e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR__TRANSPORT) {
    throw unreachable(e, errors, q.timeout_ms);
  }
  check(e, "cannot read the committed offsets of group " + diag::quoted(q.group));
  for (int i = 0; i < list->cnt; ++i) {
    const auto& tp = list->elems[i];
    if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      check(tp.err, "cannot read the committed offset of group " + diag::quoted(q.group) + " on " +
                        tp.topic + "/" + std::to_string(tp.partition));
    }
    if (tp.offset < 0) continue;  // none committed
    for (auto& s : parts) {
      if (s.partition == tp.partition && s.topic == tp.topic) s.committed = tp.offset;
    }
  }
}

// The watermarks of every partition, asked of each leader in turn: one ListOffsets request
// for the earliest offsets (timestamp -2) and one for the latest (-1) of all the partitions it
// leads. (rd_kafka_query_watermark_offsets waits without end for a leader that is down;
// rd_kafka_offsets_for_times keeps to its timeout, so a leader that does not answer costs
// at most the timeout, and only its own partitions.)
void read_watermarks(rd_kafka_t* rk, TopicsView& view, int timeout_ms) {
  std::map<int32_t, std::vector<PartitionState*>> by_leader;
  for (auto& s : view.partitions) by_leader[s.leader].push_back(&s);
  for (auto& [leader, parts] : by_leader) {
    std::optional<int64_t> PartitionState::*ends[] = {&PartitionState::low, &PartitionState::high};
    int64_t asks[] = {RD_KAFKA_OFFSET_BEGINNING, RD_KAFKA_OFFSET_END};
    std::string failure;
    for (int end = 0; end < 2 && failure.empty(); ++end) {
      PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
      for (const PartitionState* s : parts) {
        rd_kafka_topic_partition_list_add(list.get(), s->topic.c_str(), s->partition)->offset =
            asks[end];
      }
      rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk, list.get(), timeout_ms);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        failure = "leader " + std::to_string(leader) + " did not answer: " + rd_kafka_err2str(e);
        break;
      }
      for (int i = 0; i < list->cnt; ++i) {
        const auto& tp = list->elems[i];
        for (PartitionState* s : parts) {
          if (s->partition != tp.partition || s->topic != tp.topic) continue;
          if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR || tp.offset < 0) {
            s->error = tp.err != RD_KAFKA_RESP_ERR_NO_ERROR ? rd_kafka_err2str(tp.err)
                                                            : "no offset in the answer";
          } else {
            s->*ends[end] = tp.offset;
          }
        }
      }
    }
    for (PartitionState* s : parts) {
      if (!failure.empty() && s->error.empty()) s->error = failure;
      if (!s->error.empty()) {
        s->low.reset();
        s->high.reset();
        ++view.failed;
        continue;
      }
      if (s->committed) s->lag = std::max<int64_t>(0, *s->high - *s->committed);
    }
  }
}

}  // namespace

TopicsView read_topics(const TopicsQuery& q) {
  if (q.timeout_ms <= 0) throw UsageError("--timeout must be a positive number of ms");
  Errors errors;
  Handle rk = open_client(q, errors);

  const rd_kafka_metadata_t* raw = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk.get(), 1, nullptr, &raw, q.timeout_ms);
  rd_kafka_poll(rk.get(), 0);  // serve the error callback: the reason the brokers did not answer
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) throw unreachable(e, errors, q.timeout_ms);
  Metadata md(raw);

  TopicsView view;
  view.partitions = partitions_of(*md, q, view.internal);

  if (!q.group.empty()) {
    read_committed(rk.get(), view.partitions, q, errors);
    if (q.topics.empty()) {
      // The group's topics: those where it committed an offset.
      std::set<std::string> used;
      for (const auto& s : view.partitions)
        if (s.committed) used.insert(s.topic);
      std::erase_if(view.partitions,
                    [&](const PartitionState& s) { return used.count(s.topic) == 0; });
      view.internal.clear();
    }
    bool any = std::any_of(view.partitions.begin(), view.partitions.end(),
                           [](const PartitionState& s) { return s.committed.has_value(); });
    if (!any) {
      std::string where = q.topics.empty() ? "any topic of " + diag::quoted(settings().brokers)
                                           : list_text(q.topics);
      throw RuntimeError("group " + diag::quoted(q.group) + " has no committed offset on " + where +
                         "; check the group name (a group that reads with 'cdn consume -G "
                         "GROUP' commits its offsets)");
    }
  }

  read_watermarks(rk.get(), view, q.timeout_ms);
  return view;
}

}  // namespace cdn::kafka
