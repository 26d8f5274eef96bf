// libFuzzer target for the feature extraction of cdn predict (common/model/contract.*): how
// a JSON record becomes a feature row under a feature contract (RowBuilder::fill, what the
// scorer runs on every record before XGBoost sees the row), and the contract's own JSON form.
// Contracts: the one cdn train derives from schemas/cdn-data.json with time features, a
// small fixed one where one field feeds several features (numeric, categorical, hour, day)
// and a vocabulary holds a duplicate, and, when the input itself is a contract, that one.
// The input is one record. Invariants asserted (a broken one traps):
//   - the row has the contract's width: fill writes exactly width floats and nothing past
//     them; feature_names and feature_types have that width too;
//   - fill accepts exactly the records an independent reading of the contract accepts (a
//     field present, not null, and of the wrong type for one of its features is a reject,
//     as is a number the schema's type or bounds refuse, a string outside an enum, and a
//     missing feature the schema requires or training never missed), and a reject has a
//     reason that names the field;
//   - an accepted row holds, per feature, the value of the field's last non-null occurrence
//     (numeric: the number, booleans 0/1; categorical: the first index of the string in the
//     vocabulary, an unknown string counted in `unknown` and left missing; hour of day and
//     day of week (Monday 0) of an RFC 3339 time as <chrono>'s calendar computes them), and
//     NaN (missing) where the record has no value;
//   - a contract read from JSON writes the same JSON after a round trip (canonical form).
#include <simdjson.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/diag/errors.hpp"
#include "common/model/contract.hpp"
#include "common/record/timestamp.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using cdn::model::Contract;
using cdn::model::Feature;
using cdn::model::FeatureKind;
using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

const Contract& data_contract() {
  static Contract c = [] {
    cdn::model::ContractOptions o;
    o.time_features = true;
    return cdn::model::derive_contract(std::string(CDN_SOURCE_SCHEMA_DIR) + "/cdn-data.json", o);
  }();
  return c;
}

const Contract& small_contract() {
  static Contract c = [] {
    Contract k;
    auto add = [&](std::string name, std::string field, FeatureKind kind,
                   std::vector<std::string> cats) {
      Feature f;
      f.name = std::move(name);
      f.field = std::move(field);
      f.kind = kind;
      f.categories = std::move(cats);
      k.features.push_back(std::move(f));
    };
    add("x_num", "x", FeatureKind::numeric, {});
    add("s", "s", FeatureKind::categorical, {"a", "b", "a", ""});
    add("t_hour", "t", FeatureKind::hour_of_day, {});
    add("t_day", "t", FeatureKind::day_of_week, {});
    add("t_cat", "t", FeatureKind::categorical, {"2026-11-22T10:15:30Z"});
    add("x_again", "x", FeatureKind::numeric, {});
    add("b", "b", FeatureKind::numeric, {});
    add("n", "n", FeatureKind::numeric, {});
    // learned vocabularies stay open, enums are closed; the schema's types and bounds
    k.features[1].learned = true;
    k.features[0].type = "integer";
    k.features[0].exclusive_maximum = 1e6;
    k.features[5].minimum = -5;
    k.features[6].type = "boolean";
    k.features[6].missing = 0;  // never missing in training: a record must hold it
    k.features[7].type = "number";
    k.features[7].maximum = 10;
    k.features[7].exclusive_minimum = -10;
    return k;
  }();
  return c;
}

// The expected value of one feature from one value, or false when the value is of the wrong
// type. `unknown` is set for a string outside the vocabulary.
bool expect_one(const Feature& f, element v, float& out, bool& unknown) {
  unknown = false;
  switch (f.kind) {
    case FeatureKind::numeric: {
      double d;
      if (v.is_bool()) {
        if (f.type == "number" || f.type == "integer") return false;
        d = v.get_bool().value() ? 1.0 : 0.0;
      } else if (v.is_number()) {
        if (f.type == "boolean") return false;
        d = v.get_double().value();
      } else {
        return false;
      }
      // The schema's rules: an integer has no fraction, the bounds hold.
      if (f.type == "integer" && std::floor(d) != d) return false;
      if ((f.minimum && !(d >= *f.minimum)) || (f.maximum && !(d <= *f.maximum)) ||
          (f.exclusive_minimum && !(d > *f.exclusive_minimum)) ||
          (f.exclusive_maximum && !(d < *f.exclusive_maximum))) {
        return false;
      }
      out = static_cast<float>(d);
      return true;
    }
    case FeatureKind::categorical: {
      if (!v.is_string()) return false;
      std::string_view s = v.get_string().value();
      for (size_t i = 0; i < f.categories.size(); ++i) {
        if (f.categories[i] == s) {
          out = static_cast<float>(i);
          return true;
        }
      }
      if (!f.learned) return false;  // an enum: the schema allows no other value
      unknown = true;
      return true;
    }
    case FeatureKind::hour_of_day:
    case FeatureKind::day_of_week: {
      if (!v.is_string()) return false;
      auto t = cdn::record::parse_rfc3339(v.get_string().value());
      if (!t) return false;
      using namespace std::chrono;
      sys_seconds s{seconds(t->seconds)};
      auto d = floor<days>(s);
      if (f.kind == FeatureKind::hour_of_day) {
        out = static_cast<float>(floor<hours>(s - d).count());
      } else {
        out = static_cast<float>((weekday(d).c_encoding() + 6) % 7);  // Monday 0
      }
      return true;
    }
  }
  return false;
}

bool same(float a, float b) {
  return std::memcmp(&a, &b, sizeof a) == 0 || (a != a && b != b);
}

void check(const Contract& c, simdjson::dom::object obj) {
  cdn::model::RowBuilder builder(c);
  const size_t width = builder.width();
  CDN_FUZZ_REQUIRE(width == c.features.size());
  CDN_FUZZ_REQUIRE(c.feature_names().size() == width && c.feature_types().size() == width);
  constexpr size_t kGuard = 8;
  constexpr float kSentinel = -12345.5f;
  std::vector<float> row(width + kGuard, kSentinel);
  std::vector<uint64_t> unknown(width, 0), missing(width, 0);
  std::string reason;
  bool ok = builder.fill(obj, row.data(), reason, unknown, missing);
  for (size_t i = width; i < row.size(); ++i) CDN_FUZZ_REQUIRE(same(row[i], kSentinel));

  // The same through a field order kept from input to input (each builder starts it afresh)
  // and then remembered from the first pass; the ID and time fields are picked up on the way.
  static cdn::model::RowBuilder::FieldOrder order;
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<float> again(width + kGuard, kSentinel);
    std::vector<uint64_t> unknown_again(width, 0), missing_again(width, 0);
    std::string reason_again;
    cdn::model::RowBuilder::Capture cap;
    cap.names[0] = "sampleID";
    cap.names[1] = "timestamp";
    bool ok_again =
        builder.fill(obj, again.data(), reason_again, unknown_again, missing_again, order, &cap);
    CDN_FUZZ_REQUIRE(ok_again == ok && reason_again == (ok ? reason_again : reason));
    for (size_t i = 0; ok && i < width; ++i) {
      CDN_FUZZ_REQUIRE(same(again[i], row[i]) && unknown_again[i] == unknown[i]);
    }
    for (size_t i = width; i < again.size(); ++i) CDN_FUZZ_REQUIRE(same(again[i], kSentinel));
    for (int k = 0; ok && k < 2; ++k) {
      simdjson::dom::element first;
      bool there = !obj.at_key(cap.names[k]).get(first);
      CDN_FUZZ_REQUIRE(cap.found[k] == there);
      if (there) CDN_FUZZ_REQUIRE(simdjson::minify(first) == simdjson::minify(cap.values[k]));
    }
  }

  // The independent reading: per feature, over the members in order.
  bool expect_ok = true;
  std::vector<float> want(width, std::numeric_limits<float>::quiet_NaN());
  std::vector<uint64_t> want_unknown(width, 0);
  std::vector<std::string> bad_fields;
  for (size_t i = 0; i < width; ++i) {
    const Feature& f = c.features[i];
    for (auto [k, v] : obj) {
      if (k != f.field || v.is_null()) continue;
      float x;
      bool unk;
      if (!expect_one(f, v, x, unk)) {
        expect_ok = false;
        bad_fields.push_back(f.field);
        continue;
      }
      if (unk) {
        ++want_unknown[i];
      } else {
        want[i] = x;
      }
    }
  }
  // A feature the record must hold (the schema requires it, or training never missed it).
  for (size_t i = 0; expect_ok && i < width; ++i) {
    const Feature& f = c.features[i];
    if (!(f.required || f.missing == 0)) continue;
    bool held = false;
    for (auto [k, v] : obj) held = held || (k == f.field && !v.is_null());
    if (!held) {
      expect_ok = false;
      bad_fields.push_back(f.field);
    }
  }
  CDN_FUZZ_REQUIRE(ok == expect_ok);
  if (!ok) {
    CDN_FUZZ_REQUIRE(!reason.empty());
    bool named = false;
    for (const auto& f : bad_fields) named = named || reason.find(f) != std::string::npos;
    CDN_FUZZ_REQUIRE(named);
    return;
  }
  for (size_t i = 0; i < width; ++i) {
    CDN_FUZZ_REQUIRE(same(row[i], want[i]));
    CDN_FUZZ_REQUIRE(unknown[i] == want_unknown[i]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  simdjson::padded_string padded(in);
  simdjson::dom::parser parser;
  element doc;
  if (parser.parse(padded).get(doc)) return 0;
  simdjson::dom::object obj;
  if (doc.get_object().get(obj)) return 0;  // the scorer rejects what is not an object first
  check(data_contract(), obj);
  check(small_contract(), obj);

  // The input as a contract.
  try {
    Contract c = Contract::from_json(in, "fuzz input");
    std::string text = c.to_json();
    Contract again = Contract::from_json(text, "its JSON");
    CDN_FUZZ_REQUIRE(again.to_json() == text);
    check(c, obj);
  } catch (const cdn::UsageError&) {
    // not a contract
  }
  return 0;
}
