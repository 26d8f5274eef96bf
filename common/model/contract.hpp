// The feature contract: which fields of a record become which features of the model, and
// how. Training derives it from the JSON Schema (and learns the vocabularies of free string
// fields); prediction reads it from the model bundle, so both sides build identical rows.
#pragma once

#include <simdjson.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
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
  // What the schema states of the field, checked alike in training and prediction.
  std::string type;  // "number", "integer", "boolean", "string"; "" when it states none
  std::optional<double> minimum, maximum;                      // inclusive bounds
  std::optional<double> exclusive_minimum, exclusive_maximum;  // exclusive bounds
  bool required = false;  // the schema's "required" names the field
  // Training rows without a value for it; -1 when the bundle does not say (an older one).
  int64_t missing = -1;
  // A record must hold it: the schema requires it, or training never saw it missing.
  bool must_have() const { return required || missing == 0; }
};

// Why the number d (a boolean when `boolean`) does not fit the feature's type and range as
// the schema states them, said of the value ("not an integer", "below the minimum 0"); ""
// when it fits.
std::string misfit(const Feature& f, double d, bool boolean);

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
  explicit RowBuilder(const Contract& c) : RowBuilder(c, false) {}
  size_t width() const { return width_; }
  // With allow_missing, a record without a feature it must have (Feature::must_have) is
  // scored with the feature missing rather than refused.
  explicit RowBuilder(const Contract& c, bool allow_missing);
  // Fills row[0..width) from a parsed record. Returns false with `reason` set when a field
  // breaks the contract: its type, its range, a value outside a vocabulary the schema closes
  // (an enum), or a feature it must have is missing. `unknown[f]` counts, per feature, values
  // outside a learned vocabulary (which become missing); `missing[f]` the records without
  // feature f, counted once the record's fields were all read.
  bool fill(simdjson::dom::object obj, float* row, std::string& reason,
            std::vector<uint64_t>& unknown, std::vector<uint64_t>& missing) const;

  // What fill() learns about where a stream's fields are, kept by the caller (one per
  // thread): records of a stream mostly list their fields in one order, so a field is found
  // by its position and one comparison of its name, not a hash lookup.
  struct FieldOrder {
    struct Entry {
      std::string name;
      int32_t field = -1;   // index in fields_; -1: not a feature's field; -2: unset
      uint8_t capture = 0;  // bit k: the name is Capture::names[k]
    };
    std::vector<Entry> at;         // by position in the record
    uint64_t owner = 0;            // the id of the builder whose fields the entries name
    std::vector<uint8_t> present;  // per feature: the record at hand holds a value for it
    // The record's fields were all read (no type or range broke off the reading), and how
    // many features it holds.
    bool read_all = false;
    size_t held = 0;
  };
  // Up to three more fields whose values fill() hands back (found or not) as it passes them:
  // the first `count` names. One FieldOrder always goes with the same names.
  struct Capture {
    static constexpr int kMax = 3;
    int count = 2;
    std::string_view names[kMax];
    simdjson::dom::element values[kMax];
    bool found[kMax] = {false, false, false};
  };
  bool fill(simdjson::dom::object obj, float* row, std::string& reason,
            std::vector<uint64_t>& unknown, std::vector<uint64_t>& missing, FieldOrder& order,
            Capture* capture) const;
  // The features' fields, each once, in the contract's order.
  std::vector<std::string> fields() const;

 private:
  enum class Want : uint8_t { any, number, integer, boolean };
  static constexpr double kInf = std::numeric_limits<double>::infinity();
  struct Slot {
    FeatureKind kind;
    size_t feature;  // index of the feature (and its column)
    std::unordered_map<std::string_view, float> codes;
    bool closed = false;  // categorical: a value outside `codes` breaks the contract
    Want want = Want::any;
    // numeric: the range the schema states (infinite when it states none)
    double min = -kInf, max = kInf, above = -kInf, below = kInf;
    // The value fits the schema's type and range (else misfit() says why).
    bool fits(double d, bool boolean) const {
      if (want == Want::boolean ? !boolean : boolean && want != Want::any) return false;
      if (want == Want::integer && d != std::trunc(d)) return false;
      return d >= min && d <= max && d > above && d < below;
    }
  };
  const Contract& contract_;
  std::vector<size_t> must_have_;  // features a record must hold (unless allow_missing)
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
