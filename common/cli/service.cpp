#include "common/cli/service.hpp"

#include <cstdio>

#include "common/base/duration.hpp"
#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/diag/service.hpp"
#ifdef CDN_WITH_KAFKA
#include <librdkafka/rdkafka.h>
#endif

namespace cdn::cli {

namespace {

// base::parse_duration, at least 1 ms.
std::chrono::milliseconds parse_timeout(const std::string& text) {
  auto ms = base::parse_duration(text);
  if (!ms || ms->count() < 1) {
    throw UsageError("bad --health-timeout " + diag::quoted(text) +
                     "; write a duration from 1ms to 1000000000s, like 250ms, 30s, 5m or 1h");
  }
  return *ms;
}

}  // namespace

void add_service_options(CLI::App& app, ServiceOptions& opts) {
  app.add_option("--metrics-addr", opts.metrics_addr,
                 "Serve /metrics (Prometheus), /healthz and /readyz on HOST:PORT, e.g. "
                 "127.0.0.1:9464 (a PORT alone is 127.0.0.1's; 0.0.0.0 is every interface; "
                 "port 0 picks a free one, said on stderr)")
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
          "# HELP cdn_build_info The cdn build and the libraries it runs with (librdkafka; "
          "XGBoost once predict has loaded it); always 1.\n"
          "# TYPE cdn_build_info gauge\ncdn_build_info{" +
          info + s.build_labels() + "} 1\n" + s.metrics();
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
      std::string body = "{\"ready\":false,\"reason\":";
      base::append_json_string(body, *why);
      return {503, "application/json", body + "}\n"};
    }
    return {404, "text/plain; charset=utf-8", "not found: try /metrics, /healthz or /readyz\n"};
  };
  auto server = std::make_unique<io::HttpServer>(opts.metrics_addr, std::move(handler));
  diag::Service::get().serve();
  diag::notice("serving /metrics, /healthz and /readyz on " + server->address());
  return server;
}

}  // namespace cdn::cli
