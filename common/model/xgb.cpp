#include "common/model/xgb.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <exception>
#include <mutex>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"

namespace cdn::model::xgb {

namespace {
// "[18:48:28] ./src/objective/objective.cc:26: Unknown objective ...\nObjective candidate:
// ...\n\nStack trace: ...": the message alone, its first line. A log line has "WARNING: "
// between the time and the source file.
std::string message_of(std::string text, bool* warning = nullptr) {
  if (text.size() > 1 && text[0] == '[') {
    size_t close = text.find("] ");
    if (close != std::string::npos) {
      text.erase(0, close + 2);
      if (text.rfind("WARNING: ", 0) == 0) {
        text.erase(0, 9);
        if (warning) *warning = true;
      }
      size_t colon = text.find(": ");
      if (colon != std::string::npos && text.find(".cc:") < colon) text.erase(0, colon + 2);
    }
  }
  // The first line that says something (a warning may start with a new line).
  size_t start = text.find_first_not_of("\n ");
  text.erase(0, start == std::string::npos ? text.size() : start);
  size_t nl = text.find('\n');
  if (nl != std::string::npos) text.resize(nl);
  return text;
}

std::mutex capture_mutex;
std::vector<std::string>* captured = nullptr;  // set while a LogCapture lives

void on_log(const char* line) {
  {
    std::lock_guard<std::mutex> lock(capture_mutex);
    if (captured != nullptr) {
      captured->emplace_back(line);
      return;
    }
  }
  bool warning = false;
  std::string m = "XGBoost: " + message_of(line, &warning);
  if (warning) {
    diag::warning(m);
  } else {
    diag::debug(m);
  }
}
}  // namespace

LogCapture::LogCapture() {
  std::lock_guard<std::mutex> lock(capture_mutex);
  captured = new std::vector<std::string>();
}

LogCapture::~LogCapture() {
  std::lock_guard<std::mutex> lock(capture_mutex);
  delete captured;
  captured = nullptr;
}

std::vector<std::string> LogCapture::lines() const {
  std::lock_guard<std::mutex> lock(capture_mutex);
  return captured != nullptr ? *captured : std::vector<std::string>{};
}

namespace {
void collect_names(simdjson::dom::element e, std::vector<std::string>& out) {
  simdjson::dom::object obj;
  if (!e.get_object().get(obj)) {
    for (auto m : obj) {
      if (m.value.is_string()) {
        std::string k(m.key);
        if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(std::move(k));
      } else {
        collect_names(m.value, out);
      }
    }
    return;
  }
  simdjson::dom::array arr;
  if (!e.get_array().get(arr)) {
    for (auto v : arr) collect_names(v, out);
  }
}
}  // namespace

std::vector<std::string> parameter_names(const Booster& b) {
  bst_ulong len = 0;
  const char* text = nullptr;
  std::vector<std::string> names;
  if (api().XGBoosterSaveJsonConfig(b.get(), &len, &text) != 0 || text == nullptr) return names;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(text, static_cast<size_t>(len)).get(doc)) return names;
  collect_names(doc, names);
  return names;
}

void route_logs() {
  api().XGBRegisterLogCallback(&on_log);
}

std::string version() {
  int major = 0, minor = 0, patch = 0;
  api().XGBoostVersion(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::string last_error() {
  const char* e = api().XGBGetLastError();
  return message_of(e != nullptr && *e != '\0' ? e : "XGBoost failed without saying why");
}

void check(int rc, const std::string& what) {
  if (rc == 0) return;
  std::string msg = what;
  msg += ": ";
  msg += last_error();
  throw RuntimeError(msg);
}

namespace {
std::string array_interface(const void* data, uint64_t rows, uint64_t cols) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "{\"data\":[%llu,true],\"shape\":[%llu,%llu],\"typestr\":\"<f4\",\"version\":3}",
                static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(data)),
                static_cast<unsigned long long>(rows), static_cast<unsigned long long>(cols));
  return buf;
}

void copy_out(const float* values, const bst_ulong* shape, bst_ulong dim, std::vector<float>& out,
              std::vector<uint64_t>& out_shape) {
  out_shape.assign(shape, shape + dim);
  uint64_t n = 1;
  for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
  out.assign(values, values + n);
}
}  // namespace

DMatrix dense_matrix(const float* data, uint64_t rows, uint64_t cols, int threads) {
  std::string iface = array_interface(data, rows, cols);
  std::string config = "{\"missing\":NaN,\"nthread\":" + std::to_string(threads) + "}";
  DMatrixHandle h = nullptr;
  check(api().XGDMatrixCreateFromDense(iface.c_str(), config.c_str(), &h),
        "cannot build the feature matrix");
  return DMatrix(h);
}

namespace {
// What XGBoost's iterator callbacks see: the source, the proxy, and the first error thrown
// (a callback must not throw into XGBoost; the error is thrown again once it returns).
struct Iteration {
  BatchSource& src;
  DMatrixHandle proxy;
  std::exception_ptr error;
};

void reset_batches(DataIterHandle h) {
  auto* it = static_cast<Iteration*>(h);
  if (it->error) return;
  try {
    it->src.reset();
  } catch (...) {
    it->error = std::current_exception();
  }
}

int next_batch(DataIterHandle h) {
  auto* it = static_cast<Iteration*>(h);
  if (it->error) return 0;
  try {
    return it->src.next(it->proxy) ? 1 : 0;
  } catch (...) {
    it->error = std::current_exception();
    return 0;
  }
}

template <class Create>
DMatrix from_batches(BatchSource& src, const char* what, Create create) {
  DMatrixHandle proxy = nullptr;
  check(api().XGProxyDMatrixCreate(&proxy), "cannot make the data iterator's proxy");
  DMatrix proxy_owner(proxy);
  Iteration it{src, proxy, nullptr};
  DMatrixHandle h = nullptr;
  int rc = create(static_cast<DataIterHandle>(&it), proxy, &h);
  DMatrix out(h);
  if (it.error) std::rethrow_exception(it.error);
  check(rc, what);
  return out;
}
}  // namespace

void set_batch(DMatrixHandle proxy, const float* data, uint64_t rows, uint64_t cols,
               const float* labels, const std::vector<const char*>& names,
               const std::vector<const char*>& types) {
  std::string iface = array_interface(data, rows, cols);
  check(api().XGProxyDMatrixSetDataDense(proxy, iface.c_str()), "cannot hand a batch of rows over");
  check(api().XGDMatrixSetFloatInfo(proxy, "label", labels, rows), "cannot set the labels");
  check(api().XGDMatrixSetStrFeatureInfo(proxy, "feature_name",
                                         const_cast<const char**>(names.data()), names.size()),
        "cannot set the feature names");
  check(api().XGDMatrixSetStrFeatureInfo(proxy, "feature_type",
                                         const_cast<const char**>(types.data()), types.size()),
        "cannot set the feature types");
}

DMatrix quantile_matrix(BatchSource& src, const DMatrix* ref, int threads) {
  std::string config = "{\"missing\":NaN,\"nthread\":" + std::to_string(threads) + "}";
  return from_batches(src, "cannot build the quantised feature matrix",
                      [&](DataIterHandle it, DMatrixHandle proxy, DMatrixHandle* out) {
                        return api().XGQuantileDMatrixCreateFromCallback(
                            it, proxy, ref ? ref->get() : nullptr, reset_batches, next_batch,
                            config.c_str(), out);
                      });
}

DMatrix external_matrix(BatchSource& src, const std::string& cache_prefix, int threads) {
  std::string config =
      "{\"missing\":NaN,\"nthread\":" + std::to_string(threads) + ",\"cache_prefix\":";
  base::append_json_string(config, cache_prefix);
  config += "}";
  return from_batches(src, "cannot build the external-memory feature matrix",
                      [&](DataIterHandle it, DMatrixHandle proxy, DMatrixHandle* out) {
                        return api().XGDMatrixCreateFromCallback(it, proxy, reset_batches,
                                                                 next_batch, config.c_str(), out);
                      });
}

uint64_t num_rows(const DMatrix& m) {
  bst_ulong n = 0;
  check(api().XGDMatrixNumRow(m.get(), &n), "cannot count the matrix's rows");
  return n;
}

void set_labels(DMatrix& m, const std::vector<float>& labels) {
  check(api().XGDMatrixSetFloatInfo(m.get(), "label", labels.data(), labels.size()),
        "cannot set the labels");
}

void set_feature_info(DMatrix& m, const std::vector<std::string>& names,
                      const std::vector<std::string>& types) {
  std::vector<const char*> n, t;
  for (const auto& s : names) n.push_back(s.c_str());
  for (const auto& s : types) t.push_back(s.c_str());
  check(api().XGDMatrixSetStrFeatureInfo(m.get(), "feature_name", n.data(), n.size()),
        "cannot set the feature names");
  check(api().XGDMatrixSetStrFeatureInfo(m.get(), "feature_type", t.data(), t.size()),
        "cannot set the feature types");
}

Booster new_booster(const std::vector<DMatrixHandle>& cache) {
  BoosterHandle h = nullptr;
  check(api().XGBoosterCreate(cache.data(), cache.size(), &h), "cannot create a booster");
  return Booster(h);
}

void set_param(Booster& b, const std::string& key, const std::string& value) {
  check(api().XGBoosterSetParam(b.get(), key.c_str(), value.c_str()),
        "bad XGBoost parameter " + key + "=" + value);
}

std::string get_attr(const Booster& b, const std::string& key) {
  const char* out = nullptr;
  int success = 0;
  check(api().XGBoosterGetAttr(b.get(), key.c_str(), &out, &success),
        "cannot read attribute " + key);
  return success && out != nullptr ? std::string(out) : std::string();
}

void set_attr(Booster& b, const std::string& key, const std::string& value) {
  check(api().XGBoosterSetAttr(b.get(), key.c_str(), value.c_str()), "cannot set attribute " + key);
}

uint64_t num_features(const Booster& b) {
  bst_ulong n = 0;
  check(api().XGBoosterGetNumFeature(b.get(), &n), "cannot read the number of features");
  return n;
}

std::vector<std::string> feature_info(const Booster& b, const char* field) {
  bst_ulong n = 0;
  const char** arr = nullptr;
  check(api().XGBoosterGetStrFeatureInfo(b.get(), field, &n, &arr),
        std::string("cannot read the model's ") + field);
  return std::vector<std::string>(arr, arr + n);
}

int boosted_rounds(const Booster& b) {
  int n = 0;
  check(api().XGBoosterBoostedRounds(b.get(), &n), "cannot count the model's rounds");
  return n;
}

int num_trees(const Booster& b) {
  // gbtree and dart say it in their "gbtree_model_param" ({"num_trees":"66",...}); the JSON
  // is not parsed, as it may hold NaN, which is not JSON.
  std::vector<char> json = save(b, "json");
  static constexpr std::string_view kKey = "\"num_trees\":\"";
  std::string_view text(json.data(), json.size());
  size_t at = text.find(kKey);
  if (at == std::string_view::npos) return -1;
  int n = -1;
  const char* digits = text.data() + at + kKey.size();
  auto r = std::from_chars(digits, text.data() + text.size(), n);
  return r.ec == std::errc() && *r.ptr == '"' ? n : -1;
}

Booster slice(const Booster& b, int rounds) {
  BoosterHandle h = nullptr;
  check(api().XGBoosterSlice(b.get(), 0, rounds, 1, &h),
        "cannot keep the best rounds of the model");
  return Booster(h);
}

std::vector<char> save(const Booster& b, const char* format) {
  std::string config = std::string("{\"format\":\"") + format + "\"}";
  bst_ulong len = 0;
  const char* data = nullptr;
  check(api().XGBoosterSaveModelToBuffer(b.get(), config.c_str(), &len, &data),
        std::string("cannot save the model as ") + format);
  return std::vector<char>(data, data + len);
}

Booster load(const std::vector<char>& bytes, const std::string& what) {
  Booster b = new_booster({});
  check(api().XGBoosterLoadModelFromBuffer(b.get(), bytes.data(), bytes.size()),
        "cannot load the model " + what);
  return b;
}

void predict_dense(const Booster& b, const float* data, uint64_t rows, uint64_t cols,
                   std::vector<float>& out, std::vector<uint64_t>& shape) {
  static const char* kConfig =
      "{\"type\":0,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
      "\"strict_shape\":false,\"missing\":NaN,\"cache_id\":0}";
  std::string iface = array_interface(data, rows, cols);
  const bst_ulong* s = nullptr;
  bst_ulong dim = 0;
  const float* values = nullptr;
  check(
      api().XGBoosterPredictFromDense(b.get(), iface.c_str(), kConfig, nullptr, &s, &dim, &values),
      "prediction failed");
  copy_out(values, s, dim, out, shape);
}

void predict_matrix(const Booster& b, const DMatrix& m, int type, std::vector<float>& out,
                    std::vector<uint64_t>& shape) {
  std::string config = "{\"type\":" + std::to_string(type) +
                       ",\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
                       "\"strict_shape\":false}";
  const bst_ulong* s = nullptr;
  bst_ulong dim = 0;
  const float* values = nullptr;
  check(api().XGBoosterPredictFromDMatrix(b.get(), m.get(), config.c_str(), &s, &dim, &values),
        "prediction failed");
  copy_out(values, s, dim, out, shape);
}

const float* predict_cached(const Booster& b, const DMatrix& m, size_t& n) {
  static const char* kConfig =
      "{\"type\":0,\"training\":false,\"iteration_begin\":0,\"iteration_end\":0,"
      "\"strict_shape\":false}";
  const bst_ulong* s = nullptr;
  bst_ulong dim = 0;
  const float* values = nullptr;
  check(api().XGBoosterPredictFromDMatrix(b.get(), m.get(), kConfig, &s, &dim, &values),
        "prediction failed");
  n = 1;
  for (bst_ulong i = 0; i < dim; ++i) n *= static_cast<size_t>(s[i]);
  return values;
}

}  // namespace cdn::model::xgb
