// cdn broker: a local Kafka cluster for development and tests (librdkafka's mock cluster
// behind a transaction-aware proxy), with fault injection from stdin.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "cmd/commands.hpp"
#include "common/base/fd.hpp"
#include "common/cli/options.hpp"
#include "common/cli/service.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/diag/service.hpp"
#include "common/io/signals.hpp"
#include "common/io/sink.hpp"
#include "common/io/std_fds.hpp"
#include "common/kafka/mock_cluster.hpp"
#include "common/kafka/txn_proxy.hpp"

namespace cdn::cmd {

namespace {
struct BrokerArgs {
  cli::ServiceOptions service;
  int brokers = 3;
  size_t max_connections = 512;
  std::vector<std::string> topics;
};

// One line to stdout, in one write. False when the reader has gone away.
bool write_line(const std::string& text) {
  std::string line = text + "\n";
  return base::try_write_all(STDOUT_FILENO, line.data(), line.size());
}

// The listeners in front of the mock follow `down` and `up`, so clients are refused as by
// a broker that is down, and count what the mock dropped for `dropped`. `line` is a command
// the cluster has carried out.
std::string proxy_part(kafka::TxnProxy& proxy, std::string_view line) {
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  if (line.rfind("dropped", 0) == 0) return proxy.dropped_answer();
  bool down = line.rfind("down", 0) == 0;
  if (!down && line.rfind("up", 0) != 0) return "ok";
  std::string id(line.substr(down ? 4 : 2));
  id.erase(0, id.find_first_not_of(" \t"));
  id.erase(id.find_last_not_of(" \t\r") + 1);
  try {
    proxy.set_down(id == "all" ? -1 : std::stoi(id), down);
  } catch (const RuntimeError& e) {
    return std::string("error: ") + e.what();
  }
  return "ok";
}

// Reads fault-injection commands from stdin until EOF, then waits; returns on SIGINT/SIGTERM.
void serve(kafka::MockCluster& cluster, kafka::TxnProxy& proxy) {
  bool input_open = true;
  bool skipping = false;  // inside a line too long to be a command, until its newline
  std::string pending;
  char buf[4096];
  while (!io::stop_requested()) {
    diag::Service::get().tick();  // the loop is alive (/healthz)
    pollfd pfd{STDIN_FILENO, POLLIN, 0};
    int r = ::poll(&pfd, input_open ? 1 : 0, 500);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw RuntimeError("cannot wait for commands on stdin: " + errno_text(errno));
    }
    if (r == 0 || !input_open) continue;
    if ((pfd.revents & POLLNVAL) != 0) {
      input_open = false;  // no stdin at all: serve until a signal
      continue;
    }
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      diag::warning("cannot read commands from stdin (" + errno_text(errno) +
                    "); serving until SIGINT or SIGTERM");
      input_open = false;
      continue;
    }
    if (n == 0) {
      input_open = false;
      diag::debug("stdin closed; serving until SIGINT or SIGTERM");
      if (!pending.empty()) pending += '\n';
    } else {
      pending.append(buf, static_cast<size_t>(n));
    }
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (skipping) {
        skipping = false;
        continue;
      }
      std::string_view line = std::string_view(pending).substr(start, nl - start);
      std::string answer = cluster.execute(line);
      if (answer.empty()) continue;
      if (answer == "ok") answer = proxy_part(proxy, line);
      if (answer.rfind("error", 0) == 0) diag::debug("command failed: " + answer);
      if (!write_line(answer)) diag::debug("cannot answer on stdout: " + errno_text(errno));
    }
    pending.erase(0, start);
    if (pending.size() > 65536) {
      if (!skipping) write_line("error: command line longer than 64 KiB; dropped");
      skipping = true;
      pending.clear();
    }
  }
}

int run_broker(const BrokerArgs& a) {
  // Without the BROKERS line nobody can find the cluster.
  io::require_stdout("the BROKERS line", "redirect stdout to a file or a pipe");
  // --metrics-addr: up before the cluster, so /readyz says "starting" meanwhile.
  auto server = cli::start_service(a.service, "broker");
  std::vector<kafka::TopicSpec> topics;
  for (const auto& t : a.topics) {
    topics.push_back(kafka::parse_topic_spec(t, "--topic"));
    for (size_t i = 0; i + 1 < topics.size(); ++i) {
      if (topics[i].name == topics.back().name) {
        throw UsageError("topic " + diag::quoted(topics.back().name) +
                         " is named twice in --topic; name each topic once");
      }
    }
  }
  kafka::MockCluster cluster(a.brokers);
  for (const auto& t : topics) cluster.create_topic(t);
  // Clients talk to the mock through the proxy, which adds what transactions need.
  kafka::TxnProxy proxy(cluster.ports(), a.max_connections);
  std::string bootstraps = proxy.bootstraps();
  if (!write_line("BROKERS=" + bootstraps)) {
    if (errno == EPIPE) throw BrokenPipe();
    throw RuntimeError("cannot write the BROKERS line to stdout: " + errno_text(errno));
  }
  diag::info(std::to_string(a.brokers) + " mock brokers on " + bootstraps +
             "; stop with SIGINT or SIGTERM");
  auto metrics =
      diag::Service::get().add_metrics([&proxy](std::string& out) { proxy.write_metrics(out); });
  diag::Service::get().started();
  serve(cluster, proxy);
  diag::info(std::string("stopping on ") + (io::stop_signal() == SIGINT ? "SIGINT" : "SIGTERM"));
  if (proxy.report_drops()) {
    std::string counts = proxy.dropped_answer().substr(3);  // TOTAL TOPIC/PARTITION=N ...
    size_t space = counts.find(' ');
    diag::warning("the mock dropped " + counts.substr(0, space) +
                  " acknowledged messages while it ran (" + counts.substr(space + 1) + ")");
  }
  return kExitOk;
}
}  // namespace

Runner setup_broker(CLI::App& app) {
  auto a = std::make_shared<BrokerArgs>();
  cli::add_whole_number(app, "--broker-count", a->brokers, "Number of mock brokers, ids 1 to N", 1,
                        64)
      ->type_name("N")
      ->capture_default_str();
  cli::deprecated(cli::add_whole_number(app, "--brokers", a->brokers, "", 1, 64), "--broker-count");
  cli::add_whole_number(app, "--max-connections", a->max_connections,
                        "Client connections served at once (each holds two threads); more are "
                        "closed as they come, with one warning",
                        1, 100000)
      ->type_name("N")
      ->capture_default_str();
  app.add_option("-t,--topic", a->topics,
                 "Create a topic up front (repeatable). Topics not named here are created "
                 "with " +
                     std::to_string(kafka::kMockAutoCreatePartitions) +
                     " partitions when a client first asks for them")
      ->type_name("NAME:PARTITIONS");
  cli::add_service_options(app, a->service);
  app.footer(
      "Prints BROKERS=127.0.0.1:PORT,... on stdout first, then runs until SIGINT or SIGTERM\n"
      "and exits 0. The brokers listen on 127.0.0.1 only, on ephemeral ports: librdkafka\n"
      "cannot be told which.\n"
      "\n"
      "Fault injection: one command a line on stdin, each answered by one line on stdout.\n"
      "When stdin ends the cluster keeps running.\n" +
      kafka::command_help_text() +
      "\n"
      "Transactions: a listener in front of each mock broker writes the commit and abort\n"
      "markers, keeps the consumer offsets of committed transactions, and answers\n"
      "read_committed readers up to the last stable offset, which the mock alone does not.\n"
      "\n"
      "Limits of librdkafka's mock cluster: each partition keeps only about 5 MiB (and at\n"
      "most 100000 message sets) and drops older message sets while still acknowledging\n"
      "them, which is reported on stderr (topic, partition, count; at most once a second a\n"
      "partition) and counted by the dropped command and at exit; nothing is durable (all is\n"
      "lost at exit); keyless messages go to one partition per 10 ms window. Keep test\n"
      "volumes small, or use many partitions and keys, or read while writing.\n"
      "\n"
      "Limits of the listeners: a request over 100 MiB (Kafka's socket.request.max.bytes)\n"
      "closes its connection; at most --max-connections client connections at once.");
  cli::add_examples(app, {"cdn broker --broker-count 1 -t cdndata:4 -t cdnresult:4",
                          "cdn broker --metrics-addr 127.0.0.1:9464 < /dev/null"});
  return [a] { return run_broker(*a); };
}

}  // namespace cdn::cmd
