#include "common/cli/service.hpp"

#include <cstdlib>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/diag/service.hpp"
#ifdef CDN_WITH_KAFKA
#include <librdkafka/rdkafka.h>
#endif

namespace cdn::cli {

namespace {

// "30s", "500ms", "2m", "1h", or a plain number of seconds; from 1 ms to 10^9 s.
std::chrono::milliseconds parse_timeout(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  std::string unit = text.substr(digits);
  long long n = digits == 0 || digits > 10 ? -1 : std::stoll(text.substr(0, digits));
  std::chrono::milliseconds ms{-1};
  if (n >= 0) {
    if (unit == "ms") ms = std::chrono::milliseconds(n);
    if (unit == "s" || unit.empty()) ms = std::chrono::seconds(n);
    if (unit == "m") ms = std::chrono::minutes(n);
    if (unit == "h") ms = std::chrono::hours(n);
  }
  if (ms.count() < 1 || ms > std::chrono::seconds(1000000000)) {
    throw UsageError("bad --health-timeout " + diag::quoted(text) +
                     "; write a duration from 1ms to 1000000000s, like 250ms, 30s, 5m or 1h");
  }
  return ms;
}

std::string json_text(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

void add_service_options(CLI::App& app, ServiceOptions& opts) {
  app.add_option("--metrics-addr", opts.metrics_addr,
                 "Serve /metrics (Prometheus), /healthz and /readyz on HOST:PORT, e.g. "
                 "127.0.0.1:9464 (port 0 picks a free one, said on stderr)")
      ->envname("CDN_METRICS_ADDR")
      ->type_name("HOST:PORT");
  app.add_option("--health-timeout", opts.health_timeout,
                 "/healthz answers 503 once the loop has neither moved nor waited for input "
                 "this long, e.g. 30s")
      ->type_name("DURATION")
      ->capture_default_str();
}

std::unique_ptr<io::HttpServer> start_service(const ServiceOptions& opts,
                                              const std::string& command) {
  auto limit = parse_timeout(opts.health_timeout);
  if (opts.metrics_addr.empty()) return nullptr;
  std::string info = "version=\"" CDN_VERSION "\",command=\"" + diag::metric_label(command) + "\"";
#ifdef CDN_WITH_KAFKA
  info += ",librdkafka=\"" + diag::metric_label(rd_kafka_version_str()) + "\"";
#endif
  auto handler = [info, limit](std::string_view path) -> io::HttpAnswer {
    auto& s = diag::Service::get();
    if (path == "/metrics") {
      std::string body =
          "# HELP cdn_build_info The cdn build and the libraries it runs with; always 1.\n"
          "# TYPE cdn_build_info gauge\ncdn_build_info{" +
          info + "} 1\n" + s.metrics();
      return {200, "text/plain; version=0.0.4; charset=utf-8", std::move(body)};
    }
    if (path == "/healthz") {
      double idle = 0;
      bool ok = s.healthy(limit, idle);
      char buf[160];
      std::snprintf(buf, sizeof buf, "{\"healthy\":%s,\"seconds_since_progress\":%.3f}\n",
                    ok ? "true" : "false", idle);
      return {ok ? 200 : 503, "application/json", buf};
    }
    if (path == "/readyz") {
      auto why = s.not_ready();
      if (!why) return {200, "application/json", "{\"ready\":true}\n"};
      return {503, "application/json", "{\"ready\":false,\"reason\":" + json_text(*why) + "}\n"};
    }
    return {404, "text/plain; charset=utf-8", "not found: try /metrics, /healthz or /readyz\n"};
  };
  auto server = std::make_unique<io::HttpServer>(opts.metrics_addr, std::move(handler));
  diag::notice("serving /metrics, /healthz and /readyz on " + server->address());
  return server;
}

}  // namespace cdn::cli
