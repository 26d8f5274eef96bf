// InfluxDB line protocol from JSON records: measurement, tag set, field set and timestamp,
// escaped so that every value InfluxDB can hold reads back byte for byte, and typed so that
// a JSON integer stays an integer (42i), a JSON float a float, a string a string and a
// boolean a boolean. A value the protocol cannot carry is a reason to reject the record,
// never a silent change. A member named twice in a record counts once, by its first occurrence
// (the rule of every cdn command); no point has two fields or tags of one name.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "common/schema/types.hpp"

namespace cdn::influx {

enum class Precision { s, ms, us, ns };

// "s", "ms", "us", "ns"; throws UsageError otherwise.
Precision parse_precision(const std::string& name);
const char* precision_name(Precision p);
// Units of the precision in one second: 1, 1000, 1e6, 1e9.
int64_t units_per_second(Precision p);

// InfluxDB stores times from -9223372036854775806 to 9223372036854775806 ns since the epoch
// (1677-09-21T00:12:43.145224194Z to 2262-04-11T23:47:16.854775806Z) and refuses a point
// outside, or one whose time overflows when converted to ns (year 9999 at --precision s).
// The reason a time in units of `p` is outside, nullopt when InfluxDB takes it: the one test
// of both --dry-run and a real write. `what` names the time in the reason.
std::optional<std::string> time_out_of_range(int64_t time, Precision p, const std::string& what);

// The escaping rules, one per place in a line. Each returns false (and leaves `out` as it
// was) when the text cannot be written there so that it reads back the same: a newline,
// a backslash at the end or before a character that gets escaped.
// Measurement: commas and spaces escaped.
bool append_measurement(std::string& out, std::string_view s);
// Tag keys, tag values and field keys: commas, equals signs and spaces escaped.
bool append_key(std::string& out, std::string_view s);
// String field values: in double quotes, with double quotes and backslashes escaped;
// newlines pass as they are (InfluxDB reads them inside quotes).
void append_string_value(std::string& out, std::string_view s);

struct EncoderOptions {
  std::string measurement = "cdn";
  std::string measurement_field;         // when set, the measurement is this field's value
  std::vector<std::string> tags;         // fields that become tags
  std::vector<std::string> fields;       // fields written; empty: every other field
  std::string time_field = "timestamp";  // empty: the time of loading
  Precision precision = Precision::ns;
  // Records with `prediction` and `sampleID` members (schemas/prediction.json) go to this
  // measurement with `model` as a tag and every other member as a field; empty: no such
  // detection.
  std::string prediction_measurement = "prediction";
  // Declared types (from --schema): a "number" property is written as a float even when a
  // record holds an integer, an "integer" property as an integer.
  const record::PropertyTypes* types = nullptr;
};

// What identifies a point in InfluxDB besides its timestamp: a hash of the measurement and
// the tag set, and the timestamp in precision units.
struct PointKey {
  uint64_t series = 0;
  int64_t time = 0;
};

class Encoder {
 public:
  // Throws UsageError for a measurement or tag name that line protocol cannot carry.
  explicit Encoder(EncoderOptions opts);

  // Appends `measurement,tags fields` (no timestamp, no newline) for the record to `out`
  // and sets `key`. Returns the reason when the record cannot be written; `out` is then as
  // it was. `now` is the time of loading in precision units (used without a time field).
  std::optional<std::string> encode(simdjson::dom::element record, int64_t now, std::string& out,
                                    PointKey& key);

  // Appends ` TIME\n`.
  static void append_time(std::string& out, int64_t time);

  const EncoderOptions& options() const { return opts_; }
  uint64_t predictions() const { return predictions_; }
  // The measurement of the record last encoded, unescaped; valid until the next encode().
  std::string_view measurement() const { return last_measurement_; }

  // PointKey::series of a point of `measurement` with these tags (in any order; empty values
  // are left out, as InfluxDB has none), computed as encode() does: for points read back
  // from InfluxDB. 0 when line protocol cannot carry them.
  static uint64_t series_of(std::string_view measurement,
                            std::vector<std::pair<std::string, std::string>> tags);

 private:
  std::optional<std::string> encode_time(simdjson::dom::element v, int64_t& time) const;
  std::optional<std::string> tag_value(std::string_view name, simdjson::dom::element v,
                                       std::string& text) const;
  std::optional<std::string> append_field(std::string& out, std::string& key,
                                          simdjson::dom::element v, bool top, bool& any);
  // Whether the record has a member (of members_) named `k` already, and whether the point
  // has the tag or field name `key` already (of field_names_): a scan while there are few, as
  // records mostly have, a hash set past kScan, so that a record of 200,000 members costs
  // linear time, not quadratic (minutes, deaf to SIGTERM).
  bool member_named(std::string_view k);
  bool field_named(const std::string& key);
  static constexpr size_t kScan = 32;

  EncoderOptions opts_;
  std::string measurement_;  // escaped
  static constexpr size_t kNoSlot = static_cast<size_t>(-1);
  std::string prediction_measurement_;  // escaped
  std::vector<std::string> all_tags_;   // InfluxDB's order: by key; "model" for predictions
  std::vector<std::string> escaped_tags_;
  size_t model_slot_ = kNoSlot;  // "model" in all_tags_ when only predictions have it as a tag
  // Per record: the tags found, and the members that may be fields.
  std::vector<char> tag_found_;
  std::vector<simdjson::dom::element> tag_values_;
  std::vector<std::pair<std::string_view, simdjson::dom::element>> members_;
  std::string key_scratch_;
  std::vector<std::string> field_names_;             // per record: the tag and field names written
  std::unordered_set<std::string_view> member_set_;  // members_ past kScan (views in the record)
  std::unordered_set<std::string> field_set_;        // field_names_ past kScan
  std::string_view last_measurement_;
  uint64_t predictions_ = 0;
};

}  // namespace cdn::influx
