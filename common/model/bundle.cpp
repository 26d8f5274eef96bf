#include "common/model/bundle.hpp"

#include <simdjson.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/base/json_text.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/whole_file.hpp"

namespace cdn::model {

namespace fs = std::filesystem;

namespace {
void write_file(const fs::path& path, std::string_view data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  f.close();
  if (!f) {
    throw RuntimeError("cannot write " + diag::quoted(path.string()) + ": " + errno_text(errno));
  }
}

// A part of a bundle: a regular file (not a device such as /dev/zero, nor a pipe) of at most
// `max_bytes`, so that a broken bundle is refused rather than read without end.
std::string read_part(const fs::path& dir, const char* name, size_t max_bytes) {
  return io::read_whole_file((dir / name).string(), std::string("the model bundle's ") + name,
                             "train the bundle again with cdn train", max_bytes, true);
}
}  // namespace

void check_bundle_target(const std::string& dir) {
  fs::path target(dir);
  std::error_code ec;
  if (!fs::exists(target, ec)) return;
  if (!fs::is_directory(target, ec)) {
    throw UsageError(diag::quoted(dir) +
                     " exists and is not a directory; name a new directory for the model bundle");
  }
  if (!fs::exists(target / "manifest.json", ec) && !fs::is_empty(target, ec)) {
    throw UsageError("the directory " + diag::quoted(dir) +
                     " exists and is not a model bundle; name a new or empty directory");
  }
}

void write_bundle(const std::string& dir, const Contract& contract, xgb::Booster& booster,
                  const BundleFiles& files) {
  check_bundle_target(dir);
  fs::path target(dir);
  std::error_code ec;
  std::string contract_text = contract.to_json();
  std::string contract_hash = hash_hex(contract_text);
  xgb::set_attr(booster, "cdn_contract_hash", contract_hash);
  xgb::set_attr(booster, "cdn_schema_hash", contract.schema_hash);
  std::vector<char> ubj = xgb::save(booster, "ubj");
  std::vector<char> json = xgb::save(booster, "json");

  fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  fs::path tmp = parent / (target.filename().string() + ".tmp-" + std::to_string(getpid()));
  fs::remove_all(tmp, ec);
  if (!fs::create_directories(tmp, ec)) {
    throw RuntimeError("cannot create " + diag::quoted(tmp.string()) + ": " + ec.message());
  }
  try {
    std::string manifest = "{\"format\":\"cdn-model-bundle\",\"version\":1,\"cdn_version\":";
    base::append_json_string(manifest, CDN_VERSION);
    manifest += ",\"model_hash\":";
    base::append_json_string(manifest, hash_hex({ubj.data(), ubj.size()}));
    manifest += ",\"contract_hash\":";
    base::append_json_string(manifest, contract_hash);
    manifest += ",\"schema_hash\":";
    base::append_json_string(manifest, contract.schema_hash);
    if (!files.reference.empty()) {
      manifest += ",\"reference_hash\":";
      base::append_json_string(manifest, hash_hex(files.reference));
    }
    manifest += "}\n";
    write_file(tmp / "model.ubj", {ubj.data(), ubj.size()});
    write_file(tmp / "model.json", {json.data(), json.size()});
    write_file(tmp / "contract.json", contract_text);
    write_file(tmp / "params.json", files.params);
    write_file(tmp / "metrics.json", files.metrics);
    write_file(tmp / "summary.json", files.summary);
    write_file(tmp / "importance.json", files.importance);
    if (!files.report.empty()) write_file(tmp / "report.html", files.report);
    if (!files.reference.empty()) write_file(tmp / "reference.json", files.reference);
    write_file(tmp / "manifest.json", manifest);
    if (fs::exists(target, ec)) fs::remove_all(target, ec);
    if (ec) throw RuntimeError("cannot replace " + diag::quoted(dir) + ": " + ec.message());
    fs::rename(tmp, target, ec);
    if (ec)
      throw RuntimeError("cannot rename the bundle into " + diag::quoted(dir) + ": " +
                         ec.message());
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

Bundle read_bundle(const std::string& dir) {
  fs::path d(dir);
  std::error_code ec;
  if (!fs::is_directory(d, ec)) {
    bool exists = fs::exists(d, ec);
    throw UsageError("cannot open the model bundle " + diag::quoted(dir) + ": " +
                     (exists ? "not a directory" : "no such directory") +
                     " (cdn train -o DIR writes one)");
  }
  std::string manifest = read_part(d, "manifest.json", io::kMaxJsonPartBytes);
  std::string contract_text = read_part(d, "contract.json", io::kMaxJsonPartBytes);
  std::string ubj = read_part(d, "model.ubj", io::kMaxModelBytes);
  simdjson::dom::parser parser;
  simdjson::dom::element m;
  std::string_view model_hash, contract_hash;
  const char* broken = nullptr;
  if (parser.parse(manifest).get(m)) {
    broken = "it is not JSON";
  } else if (m["model_hash"].get_string().get(model_hash)) {
    broken = "it has no \"model_hash\" string";
  } else if (m["contract_hash"].get_string().get(contract_hash)) {
    broken = "it has no \"contract_hash\" string";
  }
  if (broken) {
    throw UsageError("the model bundle " + diag::quoted(dir) + " has a broken manifest.json: " +
                     broken + "; train the bundle again with cdn train");
  }
  auto refuse = [&](const std::string& why) {
    return UsageError("the model bundle " + diag::quoted(dir) + " does not hold together: " + why +
                      "; train it again with cdn train");
  };
  std::string h = hash_hex(ubj);
  if (h != model_hash) {
    throw refuse("model.ubj has hash " + h + " but manifest.json expects " +
                 std::string(model_hash));
  }
  std::string ch = hash_hex(contract_text);
  if (ch != contract_hash) {
    throw refuse("contract.json has hash " + ch + " but manifest.json expects " +
                 std::string(contract_hash));
  }
  Bundle b;
  b.dir = dir;
  b.contract = Contract::from_json(contract_text, diag::quoted((d / "contract.json").string()));
  b.booster = xgb::load(std::vector<char>(ubj.begin(), ubj.end()), diag::quoted(dir));
  std::string in_model = xgb::get_attr(b.booster, "cdn_contract_hash");
  if (in_model != ch) {
    throw refuse("the model was trained with the feature contract " +
                 (in_model.empty() ? std::string("(none recorded)") : in_model) +
                 " but contract.json is " + ch);
  }
  uint64_t n = xgb::num_features(b.booster);
  if (n != b.contract.features.size()) {
    throw refuse("the model has " + std::to_string(n) + " features but the contract " +
                 std::to_string(b.contract.features.size()));
  }
  auto names = xgb::feature_info(b.booster, "feature_name");
  if (!names.empty() && names != b.contract.feature_names()) {
    throw refuse("the model's feature names differ from the contract's");
  }
  // The reference distributions, when the bundle has them: as sure as the model.
  std::string_view reference_hash;
  if (!m["reference_hash"].get_string().get(reference_hash)) {
    std::string text = read_part(d, "reference.json", io::kMaxJsonPartBytes);
    std::string rh = hash_hex(text);
    if (rh != reference_hash) {
      throw refuse("reference.json has hash " + rh + " but manifest.json expects " +
                   std::string(reference_hash));
    }
    b.reference =
        Reference::from_json(text, b.contract, diag::quoted((d / "reference.json").string()));
  }
  b.contract_hash = ch;
  b.model_hash = h;
  diag::info("loaded the model bundle " + diag::quoted(dir) + ": model " + h + ", " +
             b.contract.objective + ", " + std::to_string(n) + " features");
  return b;
}

}  // namespace cdn::model
