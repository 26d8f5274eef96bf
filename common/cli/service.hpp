// --metrics-addr and --health-timeout, for the commands that run long (consume, produce,
// predict, load-influx, validate, tag): an io::HttpServer answering /metrics (the Prometheus
// text format), /healthz and /readyz from what diag::Service holds.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "common/io/http_server.hpp"

namespace cdn::cli {

struct ServiceOptions {
  std::string metrics_addr;  // empty: no server
  std::string health_timeout = "30s";
};

void add_service_options(CLI::App& app, ServiceOptions& opts);

// Starts the server when --metrics-addr was given (null otherwise), for `command`. Throws
// UsageError for a bad address or duration, RuntimeError when it cannot listen.
std::unique_ptr<io::HttpServer> start_service(const ServiceOptions& opts,
                                              const std::string& command);

}  // namespace cdn::cli
