#include "common/influx/writer.hpp"

#include <simdjson.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <thread>
#include <unordered_map>

#include "common/base/duration.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"

namespace cdn::influx {

using Clock = std::chrono::steady_clock;

// ---- Batch

std::string_view Batch::line(size_t i) const {
  size_t begin = i == 0 ? 0 : ends[i - 1];
  return std::string_view(body).substr(begin, ends[i] - begin - 1);
}

std::string_view Batch::record(size_t i) const {
  return std::string_view(raw).substr(origins[i].raw_begin, origins[i].raw_len);
}

void Batch::add(std::string_view line_with_newline, uint32_t source, uint64_t line,
                std::string_view record) {
  body.append(line_with_newline);
  ends.push_back(static_cast<uint32_t>(body.size()));
  origins.push_back(
      {source, line, static_cast<uint32_t>(raw.size()), static_cast<uint32_t>(record.size())});
  raw.append(record);
}

std::unique_ptr<Batch> Batch::subset(const std::vector<size_t>& lines) const {
  auto b = std::make_unique<Batch>();
  for (size_t i : lines) {
    std::string_view l = line(i);
    b->body.append(l);
    b->body += '\n';
    b->ends.push_back(static_cast<uint32_t>(b->body.size()));
    Origin o = origins[i];
    o.raw_begin = static_cast<uint32_t>(b->raw.size());
    b->raw.append(record(i));
    b->origins.push_back(o);
    if (!since.empty()) b->since.push_back(since[i]);
  }
  b->base = base;
  b->first_failure = first_failure;
  return b;
}

void Batch::clear() {
  body.clear();
  ends.clear();
  raw.clear();
  origins.clear();
  base = 0;
  since.clear();
  attempts = 0;
  first_failure.reset();
  not_before = {};
}

// ---- Freshness

void Freshness::merge(const uint64_t* counts, double sum, double largest) {
  seconds.merge(counts, sum);
  double m = max.load(std::memory_order_relaxed);
  while (!(m >= largest) && !max.compare_exchange_weak(m, largest, std::memory_order_relaxed)) {
  }
}

void observe_freshness(const Batch& batch, const std::vector<size_t>* lines, Freshness& produce,
                       Freshness& event) {
  if (batch.since.empty()) return;
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // Seconds from the batch's base to now: a point's freshness is this less its offset.
  const double d = now - batch.base;
  constexpr size_t kB = Freshness::kBuckets;
  uint64_t counts[2][kB] = {};
  double sum[2] = {0, 0};
  double largest[2] = {-std::numeric_limits<double>::infinity(),
                       -std::numeric_limits<double>::infinity()};
  // The points of a batch are near each other in time: the bucket of the one before is tried
  // first (negative values, times ahead of this clock, fall in the lowest bucket).
  const auto& bounds = Freshness::kBounds;
  constexpr size_t kLast = std::size(Freshness::kBounds);  // the +Inf bucket
  size_t hint[2] = {0, 0};
  auto tally = [&](int k, double v) {
    size_t& b = hint[k];
    if (!((b == 0 || v > bounds[b - 1]) && (b == kLast || v <= bounds[b]))) {
      b = static_cast<size_t>(std::lower_bound(std::begin(bounds), std::end(bounds), v) -
                              std::begin(bounds));
    }
    ++counts[k][b];
    sum[k] += v;
    largest[k] = std::max(largest[k], v);
  };
  size_t n = lines ? lines->size() : batch.since.size();
  for (size_t j = 0; j < n; ++j) {
    const Batch::Since& s = batch.since[lines ? (*lines)[j] : j];
    tally(1, d - static_cast<double>(s.event));
    if (!std::isnan(s.produce)) tally(0, d - static_cast<double>(s.produce));
  }
  if (largest[0] > -std::numeric_limits<double>::infinity())
    produce.merge(counts[0], sum[0], largest[0]);
  if (largest[1] > -std::numeric_limits<double>::infinity())
    event.merge(counts[1], sum[1], largest[1]);
}

// ---- helpers

namespace {

struct Deflate {
  z_stream z{};
  bool live = false;
  ~Deflate() {
    if (live) deflateEnd(&z);
  }
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<std::string*>(user);
  s->append(data, size * n);
  return size * n;
}

bool retriable(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

std::string seconds_text(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

uint64_t splitmix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

std::chrono::milliseconds parse_duration(const std::string& text, const std::string& option) {
  if (auto d = base::parse_duration(text)) return *d;
  throw UsageError("bad " + option + " " + diag::quoted(text) +
                   "; write a duration from 0 to 1000000000s, like 250ms, 30s, 5m or 1h");
}

void gzip(std::string_view in, std::string& out, int level) {
  Deflate d;
  int rc = deflateInit2(&d.z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  if (rc != Z_OK)
    throw RuntimeError("cannot start gzip compression (zlib error " + std::to_string(rc) + ")");
  d.live = true;
  out.resize(deflateBound(&d.z, static_cast<uLong>(in.size())));
  d.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  d.z.avail_in = static_cast<uInt>(in.size());
  d.z.next_out = reinterpret_cast<Bytef*>(out.data());
  d.z.avail_out = static_cast<uInt>(out.size());
  rc = deflate(&d.z, Z_FINISH);
  if (rc != Z_STREAM_END) {
    throw RuntimeError("cannot gzip a request body (zlib error " + std::to_string(rc) + ")");
  }
  out.resize(d.z.total_out);
}

std::string error_message(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view s;
  if (!parser.parse(body).get(root)) {
    if (root["error"].get(s) == simdjson::SUCCESS) return std::string(s);
    if (root["message"].get(s) == simdjson::SUCCESS) return std::string(s);
  }
  std::string t = body;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  return t;
}

Refusals parse_refusals(const Batch& batch, const std::string& message) {
  Refusals r;
  static constexpr std::string_view kDropped = "dropped=";
  size_t d = message.rfind(kDropped);
  if (d != std::string::npos) {
    uint64_t n = 0;
    size_t i = d + kDropped.size(), start = i;
    while (i < message.size() && message[i] >= '0' && message[i] <= '9') {
      n = n * 10 + static_cast<uint64_t>(message[i++] - '0');
    }
    if (i > start) r.dropped = n;
  }
  static constexpr std::string_view kUnable = "unable to parse '";
  size_t at = message.find(kUnable);
  if (at == std::string::npos) return r;
  std::unordered_multimap<std::string_view, size_t> by_text;
  for (size_t i = 0; i < batch.size(); ++i) by_text.emplace(batch.line(i), i);
  std::string_view m = message;
  while (at != std::string::npos) {
    size_t begin = at + kUnable.size();
    size_t next = m.find(kUnable, begin);
    // The line ends at a "': " whose text before it is one of ours.
    for (size_t end = m.find("': ", begin); end != std::string::npos && end < next;
         end = m.find("': ", end + 1)) {
      auto range = by_text.equal_range(m.substr(begin, end - begin));
      if (range.first == range.second) continue;
      size_t why_begin = end + 3;
      size_t why_end =
          std::min(next == std::string::npos ? m.size() : next, m.find('\n', why_begin));
      std::string why(m.substr(why_begin, why_end - why_begin));
      for (auto it = range.first; it != range.second; ++it) r.lines.emplace_back(it->second, why);
      by_text.erase(range.first, range.second);
      break;
    }
    at = next;
  }
  std::sort(r.lines.begin(), r.lines.end());
  return r;
}

// ---- Writer

struct Writer::Request {
  Clock::time_point started = Clock::now();
  Easy handle;
  std::unique_ptr<Batch> batch;
  std::string wire;  // the gzipped body
  std::string response;
};

Writer::Writer(WriterOptions opts) : opts_(std::move(opts)), multi_(make_multi()) {
  std::string base = opts_.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.rfind("http://", 0) != 0 && base.rfind("https://", 0) != 0) {
    throw UsageError("bad --url " + diag::quoted(opts_.url) +
                     "; write the server's address, e.g. http://localhost:8086");
  }
  if (opts_.max_in_flight == 0) opts_.max_in_flight = 1;
  const char* precision = precision_name(opts_.precision);
  if (opts_.api == 1) {
    endpoint_ = base + "/write?db=" + url_encode(opts_.db);
    if (!opts_.rp.empty()) endpoint_ += "&rp=" + url_encode(opts_.rp);
    endpoint_ += "&precision=";
    endpoint_ += opts_.precision == Precision::us ? "u" : precision;
  } else {
    endpoint_ = base + "/api/v2/write?org=" + url_encode(opts_.org) +
                "&bucket=" + url_encode(opts_.bucket) + "&precision=" + precision;
  }
  append_header(headers_, "Content-Type: text/plain; charset=utf-8");
  append_header(headers_, "Expect:");
  if (opts_.gzip) append_header(headers_, "Content-Encoding: gzip");
  if (!opts_.token.empty()) append_header(headers_, "Authorization: Token " + opts_.token);
  rng_ = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  metrics_registration_ = diag::Service::get().add_metrics([this](std::string& out) {
    metrics_.write(out);
    out +=
        "# HELP cdn_influx_retries_total Write requests sent again after a 5xx answer or "
        "none.\n# TYPE cdn_influx_retries_total counter\ncdn_influx_retries_total " +
        std::to_string(retries_) + "\n";
  });
}

void Writer::Metrics::write(std::string& out) const {
  static const char* const kClasses[] = {"2xx", "4xx", "5xx", "none"};
  out +=
      "# HELP cdn_influx_requests_total Write requests to InfluxDB by answer (none: no answer, "
      "a connection error or a timeout).\n# TYPE cdn_influx_requests_total counter\n";
  for (size_t i = 0; i < 4; ++i) {
    out += std::string("cdn_influx_requests_total{status=\"") + kClasses[i] + "\"} " +
           std::to_string(by_class[i]) + "\n";
  }
  out +=
      "# HELP cdn_influx_points_written_total Points InfluxDB took.\n"
      "# TYPE cdn_influx_points_written_total counter\ncdn_influx_points_written_total " +
      std::to_string(points) + "\n";
  diag::metric_header(out, "cdn_influx_request_seconds",
                      "Time from sending a write request to its answer.", "histogram");
  seconds.write(out, "cdn_influx_request_seconds", "");
  static const char* const kSince[] = {"since=\"produce\"", "since=\"event\""};
  diag::metric_header(
      out, "cdn_influx_freshness_seconds",
      "Of each point InfluxDB acknowledged, the seconds from a time to the acknowledgement: "
      "since=\"produce\" its Kafka message's timestamp (Kafka inputs only), since=\"event\" "
      "the point's own time. Negative ones (clock skew, times in the future) are counted in the "
      "lowest bucket.",
      "histogram");
  for (size_t k = 0; k < 2; ++k)
    fresh[k].seconds.write(out, "cdn_influx_freshness_seconds", kSince[k]);
  diag::metric_header(out, "cdn_influx_freshness_max_seconds",
                      "The largest cdn_influx_freshness_seconds seen (NaN: none yet).", "gauge");
  char num[64];
  for (size_t k = 0; k < 2; ++k) {
    double m = fresh[k].max.load(std::memory_order_relaxed);
    if (std::isnan(m)) {
      std::snprintf(num, sizeof num, "NaN");
    } else {
      std::snprintf(num, sizeof num, "%.6f", m);
    }
    out.append("cdn_influx_freshness_max_seconds{").append(kSince[k]).append("} ").append(num) +=
        '\n';
  }
}

void Writer::written(const Batch& batch, const std::vector<size_t>* lines) {
  size_t n = lines ? lines->size() : batch.size();
  metrics_.points += n;
  observe_freshness(batch, lines, metrics_.fresh[0], metrics_.fresh[1]);
  events_.written(batch, n);
}

std::optional<std::string> Writer::ping() const {
  std::string url = opts_.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/ping";
  Easy h = make_easy();
  CURL* e = h.get();
  std::string response;
  setopt(e, CURLOPT_URL, url.c_str());
  setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  setopt(e, CURLOPT_WRITEDATA, &response);
  setopt(e, CURLOPT_NOSIGNAL, 1L);
  setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
  CURLcode code = libcurl().easy_perform(e);
  if (code != CURLE_OK) {
    return "InfluxDB at " + diag::quoted(url) +
           " does not answer: " + libcurl().easy_strerror(code);
  }
  long status = 0;
  libcurl().easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  if (status != 204 && status != 200) {
    return "InfluxDB at " + diag::quoted(url) + " answers HTTP " + std::to_string(status);
  }
  return std::nullopt;
}

Writer::~Writer() {
  for (auto& r : in_flight_) libcurl().multi_remove_handle(multi_.get(), r->handle.get());
}

Easy Writer::take_handle() {
  if (!idle_handles_.empty()) {
    Easy h = std::move(idle_handles_.back());
    idle_handles_.pop_back();
    return h;
  }
  Easy h = make_easy();
  CURL* e = h.get();
  setopt(e, CURLOPT_URL, endpoint_.c_str());
  setopt(e, CURLOPT_POST, 1L);
  setopt(e, CURLOPT_HTTPHEADER, headers_.get());
  setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  setopt(e, CURLOPT_NOSIGNAL, 1L);
  setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(opts_.request_timeout.count()));
  setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  if (!opts_.user.empty()) {
    setopt(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    setopt(e, CURLOPT_USERNAME, opts_.user.c_str());
    setopt(e, CURLOPT_PASSWORD, opts_.password.c_str());
  }
  return h;
}

void Writer::start(std::unique_ptr<Batch> batch) {
  auto r = std::make_unique<Request>();
  r->handle = take_handle();
  r->batch = std::move(batch);
  CURL* e = r->handle.get();
  std::string_view body = r->batch->body;
  if (opts_.gzip) {
    gzip(body, r->wire);
    body = r->wire;
  }
  setopt(e, CURLOPT_POSTFIELDS, body.data());
  setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  setopt(e, CURLOPT_WRITEDATA, &r->response);
  // A server that takes the connection but never answers (stopped, hung) holds a request
  // until its timeout: no request outlasts --retry-timeout, nor the window left to a batch
  // sent again, so such a server fails the command about when --retry-timeout says.
  auto limit = std::min(opts_.request_timeout, opts_.retry_timeout);
  if (r->batch->first_failure) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        *r->batch->first_failure + opts_.retry_timeout - Clock::now());
    limit = std::min(limit, left);
  }
  limit = std::max(limit, std::chrono::milliseconds(1000));
  setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(limit.count()));
  setopt(e, CURLOPT_PRIVATE, r.get());
  check(libcurl().multi_add_handle(multi_.get(), e), "cannot start an HTTP request");
  ++requests_;
  in_flight_.push_back(std::move(r));
}

void Writer::start_due() {
  auto now = Clock::now();
  while (in_flight_.size() < opts_.max_in_flight) {
    auto it = std::find_if(waiting_.begin(), waiting_.end(),
                           [&](const auto& b) { return b->not_before <= now; });
    if (it == waiting_.end()) break;
    auto b = std::move(*it);
    waiting_.erase(it);
    start(std::move(b));
  }
}

void Writer::step(int wait_ms) {
  start_due();
  int running = 0;
  check(libcurl().multi_perform(multi_.get(), &running), "HTTP transfer failed");
  bool answered = false;
  int left = 0;
  while (CURLMsg* msg = libcurl().multi_info_read(multi_.get(), &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURLcode code = msg->data.result;
    CURL* e = msg->easy_handle;
    auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                           [&](const auto& r) { return r->handle.get() == e; });
    if (it == in_flight_.end()) continue;
    std::unique_ptr<Request> r = std::move(*it);
    in_flight_.erase(it);
    check(libcurl().multi_remove_handle(multi_.get(), e), "cannot end an HTTP request");
    finish(*r, code);
    idle_handles_.push_back(std::move(r->handle));
    answered = true;
  }
  if (answered) {
    // A request slot is free: fill it now rather than after the next wait.
    start_due();
    check(libcurl().multi_perform(multi_.get(), &running), "HTTP transfer failed");
    return;
  }
  if (wait_ms <= 0) return;
  int timeout = wait_ms;
  if (in_flight_.size() < opts_.max_in_flight && !waiting_.empty()) {
    // A batch waits to be sent again: wake up when it is due.
    auto first =
        std::min_element(waiting_.begin(), waiting_.end(),
                         [](const auto& a, const auto& b) { return a->not_before < b->not_before; })
            ->get()
            ->not_before;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(first - Clock::now()).count();
    timeout = static_cast<int>(std::clamp<int64_t>(ms, 0, wait_ms));
  }
  if (in_flight_.empty()) {
    if (timeout > 0) std::this_thread::sleep_for(std::chrono::milliseconds(timeout));
  } else {
    check(libcurl().multi_poll(multi_.get(), nullptr, 0, timeout, nullptr),
          "cannot wait for InfluxDB");
  }
}

std::string Writer::describe(long status, const std::string& body) const {
  std::string s = "HTTP ";
  s += std::to_string(status);
  std::string m = error_message(body);
  if (!m.empty()) {
    if (m.size() > 500) m = m.substr(0, 500) + "...";
    s += ": ";
    s += m;
  }
  return s;
}

void Writer::finish(Request& r, CURLcode code) {
  std::unique_ptr<Batch> batch = std::move(r.batch);
  metrics_.seconds.observe(std::chrono::duration<double>(Clock::now() - r.started).count());
  if (code != CURLE_OK) {
    ++metrics_.by_class[3];
    std::string why = libcurl().easy_strerror(code);
    if (retriable(code)) return retry_later(std::move(batch), why, -1);
    throw RuntimeError("cannot write to " + diag::quoted(endpoint_) + ": " + why);
  }
  long status = 0;
  check(libcurl().easy_getinfo(r.handle.get(), CURLINFO_RESPONSE_CODE, &status),
        "cannot read the HTTP status");
  ++metrics_.by_class[status >= 200 && status < 300 ? 0 : status >= 500 ? 2 : 1];
  if (status >= 200 && status < 300) {
    if (failing_) diag::info("InfluxDB takes writes again");
    failing_ = false;
    written(*batch, nullptr);
    return;
  }
  std::string what = describe(status, r.response);
  if (status == 413) {
    if (batch->size() == 1) {
      events_.refused(*batch, 0, "InfluxDB refused the line as too large (" + what + ")");
      return;
    }
    diag::debug("InfluxDB said 413 to " + std::to_string(batch->size()) +
                " lines; sending them again in two halves");
    std::vector<size_t> first, second;
    for (size_t i = 0; i < batch->size(); ++i)
      (i < batch->size() / 2 ? first : second).push_back(i);
    waiting_.push_front(batch->subset(second));
    waiting_.push_front(batch->subset(first));
    return;
  }
  if (status == 429 || status >= 500) {
    curl_off_t after = -1;
    if (libcurl().easy_getinfo(r.handle.get(), CURLINFO_RETRY_AFTER, &after) != CURLE_OK)
      after = -1;
    return retry_later(std::move(batch), what, after > 0 ? static_cast<long>(after) : -1);
  }
  if (status == 400) return handle_400(std::move(batch), r.response);
  std::string hint;
  if (status == 401 || status == 403) {
    hint = opts_.api == 1 ? "; check --user and the password (INFLUX_PASSWORD or --password-file)"
                          : "; check the token (INFLUX_TOKEN or --token-file)";
    throw RuntimeError("InfluxDB refused the credentials at " + diag::quoted(endpoint_) + " (" +
                       what + ")" + hint);
  }
  if (status == 404) {
    hint = opts_.api == 1 ? "; check --db and --url, or create the database with --create-db"
                          : "; check --org, --bucket and --url";
  }
  throw RuntimeError("cannot write to " + diag::quoted(endpoint_) + ": " + what + hint);
}

void Writer::retry_later(std::unique_ptr<Batch> batch, const std::string& why, long retry_after_s) {
  auto now = Clock::now();
  if (!batch->first_failure) batch->first_failure = now;
  auto deadline = *batch->first_failure + opts_.retry_timeout;
  if (now >= deadline) {
    throw RuntimeError("cannot write to " + diag::quoted(endpoint_) + ": " + why +
                       " (retried for " + seconds_text(opts_.retry_timeout) +
                       " s; raise --retry-timeout to wait longer)");
  }
  std::chrono::milliseconds delay;
  if (retry_after_s > 0) {
    delay = std::chrono::milliseconds(retry_after_s * 1000);
  } else {
    int64_t base = 100LL << std::min(batch->attempts, 7);  // 0.1 s .. 12.8 s
    base = std::min<int64_t>(base, 10000);
    delay = std::chrono::milliseconds(
        base / 2 + static_cast<int64_t>(splitmix(rng_) % static_cast<uint64_t>(base / 2 + 1)));
  }
  batch->not_before = std::min(now + delay, deadline);
  ++batch->attempts;
  ++retries_;
  // The first failure after writes went through is a warning; the retries that follow are
  // counted in the summary (and shown with -v).
  std::string text =
      "cannot write to " + diag::quoted(endpoint_) + ": " + why + "; sending " +
      std::to_string(batch->size()) + (batch->size() == 1 ? " line" : " lines") + " again in " +
      seconds_text(std::chrono::duration_cast<std::chrono::milliseconds>(batch->not_before - now)) +
      " s, and again until --retry-timeout (" + seconds_text(opts_.retry_timeout) + " s)";
  if (failing_) {
    diag::info(text);
  } else {
    diag::warning(text);
  }
  failing_ = true;
  waiting_.push_back(std::move(batch));
}

void Writer::handle_400(std::unique_ptr<Batch> batch, const std::string& body) {
  std::string message = error_message(body);
  Refusals r = parse_refusals(*batch, message);
  std::vector<bool> named(batch->size(), false);
  for (const auto& [i, why] : r.lines) {
    named[i] = true;
    events_.refused(*batch, i, "InfluxDB refused the line: " + why);
  }
  std::vector<size_t> rest;
  for (size_t i = 0; i < batch->size(); ++i) {
    if (!named[i]) rest.push_back(i);
  }
  if (rest.empty()) return;
  const size_t n = r.lines.size();
  auto refuse_rest = [&] {
    for (size_t i : rest) events_.refused(*batch, i, "InfluxDB refused the line: " + message);
  };
  if (r.dropped) {
    if (*r.dropped <= n) return written(*batch, &rest);
    if (*r.dropped >= n + rest.size()) return refuse_rest();
  } else if (n > 0) {
    return written(*batch, &rest);
  }
  if (rest.size() == 1) return refuse_rest();
  // Some of the rest were dropped, but which is not said: send them again in halves.
  diag::debug("InfluxDB dropped lines it does not name (" + message + "); sending " +
              std::to_string(rest.size()) + " lines again in halves to find them");
  std::vector<size_t> first(rest.begin(), rest.begin() + static_cast<ptrdiff_t>(rest.size() / 2));
  std::vector<size_t> second(rest.begin() + static_cast<ptrdiff_t>(rest.size() / 2), rest.end());
  waiting_.push_front(batch->subset(second));
  waiting_.push_front(batch->subset(first));
}

void Writer::submit(std::unique_ptr<Batch> batch) {
  // max_in_flight requests, and one batch ready to go when a slot frees.
  while (held() > opts_.max_in_flight) step(100);
  waiting_.push_back(std::move(batch));
  step(0);
}

void Writer::poll() {
  if (held() > 0) step(0);
}

void Writer::drain() {
  while (held() > 0) step(100);
}

void Writer::create_database() {
  if (opts_.api != 1) return;
  std::string q = "CREATE DATABASE ";
  append_identifier(q, opts_.db);
  query(q, "create database " + diag::quoted(opts_.db), false);
}

void append_identifier(std::string& out, std::string_view name) {
  out += '"';
  for (char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

std::string Writer::query(const std::string& q, const std::string& what, bool in_db) {
  std::string base = opts_.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string url = base + "/query";
  if (in_db) {
    // 2.x answers InfluxQL on /query for a bucket through its DBRP mapping (made for every
    // bucket since 2.2).
    url += "?db=" + url_encode(opts_.api == 1 ? opts_.db : opts_.bucket) + "&epoch=ns";
    if (!opts_.rp.empty()) url += "&rp=" + url_encode(opts_.rp);
  }
  std::string form = "q=" + url_encode(q);
  Easy h = make_easy();
  CURL* e = h.get();
  std::string response;
  Slist headers;
  if (opts_.api == 2) {
    append_header(headers, "Authorization: Token " + opts_.token);
    setopt(e, CURLOPT_HTTPHEADER, headers.get());
  }
  setopt(e, CURLOPT_URL, url.c_str());
  setopt(e, CURLOPT_POSTFIELDS, form.c_str());
  setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  setopt(e, CURLOPT_WRITEDATA, &response);
  setopt(e, CURLOPT_NOSIGNAL, 1L);
  setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(opts_.request_timeout.count()));
  if (!opts_.user.empty()) {
    setopt(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    setopt(e, CURLOPT_USERNAME, opts_.user.c_str());
    setopt(e, CURLOPT_PASSWORD, opts_.password.c_str());
  }
  auto start = Clock::now();
  for (int attempt = 0;; ++attempt) {
    response.clear();
    CURLcode code = libcurl().easy_perform(e);
    long status = 0;
    std::string why;
    if (code == CURLE_OK) {
      check(libcurl().easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status),
            "cannot read the HTTP status");
      std::string m = error_message(response);
      // A SELECT's answer is checked by its reader: its values may hold the word.
      if (status >= 200 && status < 300 &&
          (in_db || response.find("\"error\"") == std::string::npos)) {
        return response;
      }
      why = "HTTP " + std::to_string(status) + ": " + m;
      if (status == 401 || status == 403) {
        throw QueryRefused("InfluxDB refused the credentials at " + diag::quoted(url) + " (" + why +
                           (opts_.api == 1 ? "); check --user and the password (INFLUX_PASSWORD or "
                                             "--password-file)"
                                           : "); check the token (INFLUX_TOKEN or --token-file)"));
      }
      if (status < 500 && status != 429) throw QueryRefused("cannot " + what + ": " + why);
    } else if (!retriable(code)) {
      throw RuntimeError("cannot reach " + diag::quoted(url) + ": " +
                         libcurl().easy_strerror(code));
    } else {
      why = libcurl().easy_strerror(code);
    }
    if (Clock::now() - start >= opts_.retry_timeout) {
      throw RuntimeError("cannot " + what + " at " + diag::quoted(url) + ": " + why +
                         " (retried for " + seconds_text(opts_.retry_timeout) +
                         " s; raise --retry-timeout to wait longer)");
    }
    int64_t base_ms = std::min<int64_t>(100LL << std::min(attempt, 7), 10000);
    std::this_thread::sleep_for(std::chrono::milliseconds(
        base_ms / 2 +
        static_cast<int64_t>(splitmix(rng_) % static_cast<uint64_t>(base_ms / 2 + 1))));
  }
}

}  // namespace cdn::influx
