#include "common/diag/service.hpp"

#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace cdn::diag {

Service& Service::get() {
  static Service s;
  return s;
}

Service::Registration& Service::Registration::operator=(Registration&& o) noexcept {
  if (this != &o) {
    if (id_ != 0) Service::get().remove(id_);
    id_ = o.id_;
    o.id_ = 0;
  }
  return *this;
}

Service::Registration::~Registration() {
  if (id_ != 0) Service::get().remove(id_);
}

Service::Registration Service::add(Entry e) {
  std::lock_guard lock(mutex_);
  e.id = next_id_++;
  uint64_t id = e.id;
  entries_.push_back(std::move(e));
  return Registration(id);
}

void Service::remove(uint64_t id) {
  std::lock_guard lock(mutex_);
  entries_.remove_if([id](const Entry& e) { return e.id == id; });
}

Service::Registration Service::add_metrics(Metrics m) {
  return add({0, std::move(m), {}, {}, {}});
}
Service::Registration Service::add_check(Check c) {
  return add({0, {}, std::move(c), {}, {}});
}
Service::Registration Service::add_progress(Progress p) {
  return add({0, {}, {}, std::move(p), {}});
}
Service::Registration Service::add_lag(Lag l) {
  return add({0, {}, {}, {}, std::move(l)});
}

std::optional<uint64_t> Service::lag() {
  std::lock_guard lock(mutex_);
  std::optional<uint64_t> total;
  for (const auto& e : entries_) {
    if (!e.lag) continue;
    if (auto n = e.lag()) total = total.value_or(0) + *n;
  }
  return total;
}

std::string Service::metrics() {
  std::string out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& e : entries_) {
      if (e.metrics) e.metrics(out);
    }
  }
  // The process's own, as Prometheus client libraries name them.
  static const double start = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  }();
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", start);
  out +=
      "# HELP process_start_time_seconds Start time of the process since the Unix epoch in "
      "seconds.\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds ";
  out += buf;
  out += "\n";
  return out;
}

void Service::build_label(const std::string& key, const std::string& value) {
  std::lock_guard lock(mutex_);
  build_labels_ += "," + key + "=\"" + metric_label(value) + "\"";
}

std::string Service::build_labels() {
  std::lock_guard lock(mutex_);
  return build_labels_;
}

std::optional<std::string> Service::not_ready() {
  if (!started_.load(std::memory_order_relaxed)) return "starting";
  std::lock_guard lock(mutex_);
  for (const auto& e : entries_) {
    if (!e.check) continue;
    if (auto why = e.check()) return why;
  }
  return std::nullopt;
}

bool Service::healthy(std::chrono::milliseconds limit, double& idle_seconds) {
  uint64_t now_progress = ticks_.load(std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  for (const auto& e : entries_) {
    if (e.progress) now_progress += e.progress();
  }
  auto now = std::chrono::steady_clock::now();
  if (now_progress != last_progress_) {
    last_progress_ = now_progress;
    last_change_ = now;
  }
  idle_seconds = std::chrono::duration<double>(now - last_change_).count();
  return now - last_change_ <= limit;
}

std::string metric_label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace cdn::diag
