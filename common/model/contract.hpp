// The feature contract: which fields of a record become which features of the model, and
// how. Training derives it from the JSON Schema (and learns the vocabularies of free string
// fields); prediction reads it from the model bundle, so both sides build identical rows.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cdn::model {

enum class FeatureKind { numeric, categorical, hour_of_day, day_of_week };

const char* kind_name(FeatureKind k);

struct Feature {
  std::string name;   // the feature's name in the model
  std::string field;  // the record field it comes from
  FeatureKind kind = FeatureKind::numeric;
  // categorical: code i is categories[i]. From the schema's enum, or learned in training.
  std::vector<std::string> categories;
  bool learned = false;  // the vocabulary was learned from the training data
};

struct Contract {
  std::string label = "qoe_bad";
  std::string objective = "binary:logistic";
  int num_class = 0;  // multi-class objectives only
  std::string id_field = "sampleID";
  std::string time_field = "timestamp";
  std::string schema_hash;  // XXH64 of the schema file's bytes
  std::vector<Feature> features;

  // Canonical JSON text (stable: the same contract gives the same bytes).
  std::string to_json() const;
  // Throws UsageError naming `what` when the text is not a contract.
  static Contract from_json(std::string_view text, const std::string& what);

  std::vector<std::string> feature_names() const;
  // "q" or "c" per feature, as XGBoost wants them.
  std::vector<std::string> feature_types() const;
  bool binary() const { return objective.rfind("binary:", 0) == 0; }
  bool multiclass() const { return objective.rfind("multi:", 0) == 0; }
};

struct ContractOptions {
  std::string label = "qoe_bad";
  std::vector<std::string> drop;  // fields left out
  bool drop_given = false;        // else: the ID field, date-time and IP/UUID fields
  bool time_features = false;     // hour of day and day of week from time_field
  std::string id_field = "sampleID";
  std::string time_field = "timestamp";
};

// Derives the contract from a JSON Schema's top-level properties: numbers, integers and
// booleans are numeric features; string enums categorical with the enum as vocabulary;
// other strings categorical with a vocabulary to learn. Throws UsageError.
Contract derive_contract(const std::string& schema_path, const ContractOptions& opts);

// The schema cdn train uses without --schema: cdn-data.json where cdn validate finds it
// (schema::find_schema: $CDN_SCHEMA_DIR, next to the binary, the source tree); "" when none.
std::string default_schema_path();

// Hex XXH64 of bytes.
std::string hash_hex(std::string_view bytes);

// Hour of day (0-23, UTC) and day of week (0 = Monday) of an RFC 3339 time.
bool time_parts(std::string_view text, int& hour, int& weekday);

// Builds feature rows from parsed records (prediction). Immutable once built; one per
// bundle, shared by threads.
class RowBuilder {
 public:
  // Keeps views of c's names and categories: c must outlive the builder.
  explicit RowBuilder(const Contract& c);
  size_t width() const { return width_; }
  // Fills row[0..width) from a parsed record. Returns false with `reason` set when a field
  // has the wrong type. `unknown[f]` counts, per feature, values outside its vocabulary
  // (which become missing).
  bool fill(simdjson::dom::object obj, float* row, std::string& reason,
            std::vector<uint64_t>& unknown) const;

  // What fill() learns about where a stream's fields are, kept by the caller (one per
  // thread): records of a stream mostly list their fields in one order, so a field is found
  // by its position and one comparison of its name, not a hash lookup.
  struct FieldOrder {
    struct Entry {
      std::string name;
      int32_t field = -1;   // index in fields_; -1: not a feature's field; -2: unset
      uint8_t capture = 0;  // bit k: the name is Capture::names[k]
    };
    std::vector<Entry> at;  // by position in the record
    uint64_t owner = 0;     // the id of the builder whose fields the entries name
  };
  // Up to two more fields whose values fill() hands back (found or not) as it passes them.
  // One FieldOrder always goes with the same names.
  struct Capture {
    std::string_view names[2];
    simdjson::dom::element values[2];
    bool found[2] = {false, false};
  };
  bool fill(simdjson::dom::object obj, float* row, std::string& reason,
            std::vector<uint64_t>& unknown, FieldOrder& order, Capture* capture) const;

 private:
  struct Slot {
    FeatureKind kind;
    size_t feature;  // index of the feature (and its column)
    std::unordered_map<std::string_view, float> codes;
  };
  struct FieldSlots {
    std::string name;
    std::vector<Slot> slots;  // a time field may feed two features
  };
  size_t width_;
  std::vector<FieldSlots> fields_;
  std::unordered_map<std::string_view, size_t> by_name_;
  uint64_t id_;  // unique to each builder made, so a FieldOrder never outlives its meaning
};

}  // namespace cdn::model
