// The feature contract, row building and metrics of common/model.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <set>

#include "common/diag/errors.hpp"
#include "common/model/contract.hpp"
#include "common/model/forest.hpp"
#include "common/model/metrics.hpp"
#include "common/model/report.hpp"
#include "common/model/round_metrics.hpp"

namespace cdn::model {
namespace {

Feature feature(std::string name, std::string field, FeatureKind kind,
                std::vector<std::string> categories, bool learned) {
  Feature f;
  f.name = std::move(name);
  f.field = std::move(field);
  f.kind = kind;
  f.categories = std::move(categories);
  f.learned = learned;
  return f;
}

Contract sample() {
  Contract c;
  c.schema_hash = "0123456789abcdef";
  c.features.push_back(feature("rtt_ms", "rtt_ms", FeatureKind::numeric, {}, false));
  c.features.push_back(
      feature("device", "device", FeatureKind::categorical, {"mobile", "desktop"}, false));
  c.features.push_back(feature("pop", "pop", FeatureKind::categorical, {"AMS1", "FRA1"}, true));
  c.features.push_back(feature("timestamp_hour", "timestamp", FeatureKind::hour_of_day, {}, false));
  c.features.push_back(
      feature("timestamp_weekday", "timestamp", FeatureKind::day_of_week, {}, false));
  return c;
}

TEST(Contract, JsonRoundTripIsByteForByte) {
  Contract c = sample();
  std::string text = c.to_json();
  Contract back = Contract::from_json(text, "test");
  EXPECT_EQ(back.to_json(), text);
  EXPECT_EQ(back.features[2].categories[1], "FRA1");
  EXPECT_TRUE(back.features[2].learned);
  EXPECT_EQ(back.feature_types(), (std::vector<std::string>{"q", "c", "c", "q", "q"}));
}

TEST(Contract, NotAContractIsAUsageError) {
  EXPECT_THROW(Contract::from_json("{\"label\":1}", "x"), UsageError);
  EXPECT_THROW(Contract::from_json("nope", "x"), UsageError);
}

TEST(Contract, DerivedFromASchema) {
  std::string path = testing::TempDir() + "/schema.json";
  std::ofstream(path) << R"({"properties":{"timestamp":{"type":"string","format":"date-time"},
    "ip":{"type":"string","format":"ipv4"},"sampleID":{"type":["string","integer"]},
    "n":{"type":"integer","minimum":0,"exclusiveMaximum":10},"s":{"type":"string"},
    "e":{"enum":["a","b"]},"y":{"enum":[0,1]}},"required":["n","timestamp"]})";
  ContractOptions o;
  o.label = "y";
  o.time_features = true;
  Contract c = derive_contract(path, o);
  ASSERT_EQ(c.features.size(), 5u);
  EXPECT_EQ(c.features[0].name, "n");
  EXPECT_EQ(c.features[1].kind, FeatureKind::categorical);
  EXPECT_TRUE(c.features[1].learned);
  EXPECT_EQ(c.features[2].categories, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.features[3].kind, FeatureKind::hour_of_day);
  // the rules predict keeps: types, ranges, what is required
  EXPECT_EQ(c.features[0].type, "integer");
  EXPECT_EQ(*c.features[0].minimum, 0);
  EXPECT_EQ(*c.features[0].exclusive_maximum, 10);
  EXPECT_FALSE(c.features[0].maximum);
  EXPECT_TRUE(c.features[0].required);
  EXPECT_EQ(c.features[1].type, "string");
  EXPECT_FALSE(c.features[1].required);
  EXPECT_TRUE(c.features[3].required);
  o.label = "missing";
  EXPECT_THROW(derive_contract(path, o), UsageError);
}

TEST(TimeParts, HourAndWeekdayInUtc) {
  int h = -1, d = -1;
  ASSERT_TRUE(time_parts("2026-11-22T10:15:30.123Z", h, d));  // a Sunday
  EXPECT_EQ(h, 10);
  EXPECT_EQ(d, 6);
  ASSERT_TRUE(time_parts("2026-11-23T01:00:00+02:00", h, d));  // Sunday 23:00 UTC
  EXPECT_EQ(h, 23);
  EXPECT_EQ(d, 6);
  ASSERT_TRUE(time_parts("1969-12-31T23:59:59Z", h, d));  // a Wednesday
  EXPECT_EQ(h, 23);
  EXPECT_EQ(d, 2);
  EXPECT_FALSE(time_parts("yesterday", h, d));
}

TEST(RowBuilder, FillsNumbersCodesAndMissing) {
  Contract c = sample();
  RowBuilder b(c);
  simdjson::dom::parser p;
  std::vector<uint64_t> unknown(5, 0), missing(5, 0);
  std::string reason;
  float row[5];
  auto obj =
      p
          .parse(std::string(
              R"({"rtt_ms":12.5,"device":"desktop","pop":"XXX1","timestamp":"2026-11-24T03:00:00Z"})"))
          .get_object()
          .value();
  ASSERT_TRUE(b.fill(obj, row, reason, unknown, missing));
  EXPECT_EQ(row[0], 12.5f);
  EXPECT_EQ(row[1], 1.0f);
  EXPECT_TRUE(std::isnan(row[2]));
  EXPECT_EQ(unknown[2], 1u);
  EXPECT_EQ(row[3], 3.0f);
  EXPECT_EQ(row[4], 1.0f);
  auto bad = p.parse(std::string(R"({"rtt_ms":"fast"})")).get_object().value();
  EXPECT_FALSE(b.fill(bad, row, reason, unknown, missing));
  EXPECT_EQ(reason, "field 'rtt_ms' is a string; the model wants a number");
}

// The schema's rules, as predict applies them: a boolean is not a number, an integer has no
// fraction, ranges hold, an enum's vocabulary is closed, and a feature that must be there is.
Contract ruled() {
  Contract c;
  Feature rtt = feature("rtt_ms", "rtt_ms", FeatureKind::numeric, {}, false);
  rtt.type = "number";
  rtt.minimum = 0;
  rtt.missing = 0;  // never missing in training
  Feature asn = feature("asn", "asn", FeatureKind::numeric, {}, false);
  asn.type = "integer";
  asn.minimum = 1;
  asn.exclusive_maximum = 100;
  asn.missing = 3;
  Feature cached = feature("cached", "cached", FeatureKind::numeric, {}, false);
  cached.type = "boolean";
  cached.missing = 1;
  Feature device = feature("device", "device", FeatureKind::categorical, {"mobile", "tv"}, false);
  device.type = "string";
  device.missing = 2;
  device.required = true;
  Feature pop = feature("pop", "pop", FeatureKind::categorical, {"AMS1"}, true);
  pop.type = "string";
  pop.missing = 5;
  c.features = {rtt, asn, cached, device, pop};
  return c;
}

std::string refusal(const RowBuilder& b, const std::string& json,
                    std::vector<uint64_t>* missing = nullptr) {
  simdjson::dom::parser p;
  auto obj = p.parse(json).get_object().value();
  std::vector<uint64_t> unknown(5, 0), none(5, 0);
  std::string reason;
  float row[5];
  return b.fill(obj, row, reason, unknown, missing ? *missing : none) ? "" : reason;
}

TEST(RowBuilder, KeepsTheSchemasTypesRangesAndEnums) {
  Contract c = ruled();
  RowBuilder b(c);
  std::string ok = R"("device":"tv","pop":"XXX9")";
  EXPECT_EQ(refusal(b, R"({"rtt_ms":1.5,"asn":7,"cached":true,)" + ok + "}"), "");
  EXPECT_EQ(refusal(b, R"({"rtt_ms":true,"asn":7,)" + ok + "}"),
            "field 'rtt_ms': true is a boolean, not a number");
  EXPECT_EQ(refusal(b, R"({"rtt_ms":-0.5,)" + ok + "}"),
            "field 'rtt_ms': -0.5 is below the minimum 0");
  EXPECT_EQ(refusal(b, R"({"rtt_ms":1,"asn":7.5,)" + ok + "}"),
            "field 'asn': 7.5 is not an integer");
  EXPECT_EQ(refusal(b, R"({"rtt_ms":1,"asn":0,)" + ok + "}"),
            "field 'asn': 0 is below the minimum 1");
  EXPECT_EQ(refusal(b, R"({"rtt_ms":1,"asn":100,)" + ok + "}"),
            "field 'asn': 100 is not below the exclusive maximum 100");
  EXPECT_EQ(refusal(b, R"({"rtt_ms":1,"cached":1,)" + ok + "}"),
            "field 'cached': 1 is not a boolean");
  EXPECT_EQ(refusal(b, R"({"rtt_ms":1,"device":"fridge"})"),
            "field 'device' is 'fridge', not one of the values the schema allows");
  // a learned vocabulary stays open: an unknown pop is missing, not refused
  EXPECT_EQ(refusal(b, R"({"rtt_ms":1,"device":"tv","pop":"ZZZ1"})"), "");
}

TEST(RowBuilder, RefusesAMissingFeatureItMustHaveUnlessAllowed) {
  Contract c = ruled();
  RowBuilder strict(c), lenient(c, true);
  std::vector<uint64_t> missing(5, 0);
  // never missing in training
  EXPECT_EQ(refusal(strict, R"({"device":"tv"})", &missing),
            "field 'rtt_ms' is missing; the model was trained without it ever missing "
            "(--allow-missing scores it as missing)");
  // required by the schema, though training saw it missing; null is missing too
  EXPECT_EQ(refusal(strict, R"({"rtt_ms":1,"device":null})", &missing),
            "field 'device' is missing; the schema requires it (--allow-missing scores it as "
            "missing)");
  // seen missing in training and not required: scored
  EXPECT_EQ(refusal(strict, R"({"rtt_ms":1,"device":"tv"})", &missing), "");
  EXPECT_EQ(refusal(lenient, R"({})", &missing), "");
  // counted per feature, refused or not
  EXPECT_EQ(missing, (std::vector<uint64_t>{2, 4, 4, 2, 4}));
  // an older bundle says nothing of missing values: nothing is refused for one
  Contract old = sample();
  RowBuilder b(old);
  EXPECT_EQ(refusal(b, R"({})"), "");
}

TEST(Contract, TheSchemasRulesAndTheMissingCountsGoIntoTheBundle) {
  Contract c = ruled();
  std::string text = c.to_json();
  Contract back = Contract::from_json(text, "test");
  EXPECT_EQ(back.to_json(), text);
  EXPECT_EQ(back.features[1].type, "integer");
  EXPECT_EQ(*back.features[1].exclusive_maximum, 100);
  EXPECT_FALSE(back.features[1].maximum);
  EXPECT_TRUE(back.features[3].required);
  EXPECT_EQ(back.features[4].missing, 5);
  EXPECT_EQ(sample().features[0].missing, -1);
  EXPECT_EQ(Contract::from_json(sample().to_json(), "old").features[0].missing, -1);
}

TEST(RowBuilder, RemembersTheFieldOrderAndStillReadsAnyOrder) {
  Contract c = sample();
  RowBuilder b(c);
  RowBuilder::FieldOrder order;
  std::vector<uint64_t> unknown(5, 0), missing(5, 0);
  std::string reason;
  float row[5];
  const char* records[] = {
      R"({"sampleID":7,"rtt_ms":12.5,"device":"desktop","timestamp":"2026-11-24T03:00:00Z"})",
      R"({"sampleID":8,"rtt_ms":20,"device":"desktop","timestamp":"2026-11-24T04:00:00Z"})",
      // another order, a field more, the ID twice (the first counts, as with at_key)
      R"({"timestamp":"2026-11-24T05:00:00Z","device":"mobile","x":1,"sampleID":9,"sampleID":10,"rtt_ms":3})",
      R"({"rtt_ms":4})",
  };
  float rtt[] = {12.5f, 20, 3, 4};
  int64_t ids[] = {7, 8, 9, -1};
  for (int k = 0; k < 4; ++k) {
    simdjson::dom::parser p;
    auto obj = p.parse(std::string(records[k])).get_object().value();
    RowBuilder::Capture cap;
    cap.names[0] = "sampleID";
    cap.names[1] = "timestamp";
    ASSERT_TRUE(b.fill(obj, row, reason, unknown, missing, order, &cap)) << k;
    EXPECT_EQ(row[0], rtt[k]) << k;
    EXPECT_EQ(cap.found[0], ids[k] >= 0) << k;
    EXPECT_EQ(cap.found[1], k < 3) << k;
    if (ids[k] >= 0) {
      EXPECT_EQ(cap.values[0].get_int64().value(), ids[k]) << k;
    }
    if (k == 2) {
      EXPECT_EQ(row[1], 0.0f);  // mobile
    }
  }
  // another builder with the same order cache starts afresh: its only field is "device"
  Contract c2 = c;
  c2.features = {feature("device", "device", FeatureKind::categorical, {"desktop"}, false)};
  RowBuilder b2(c2);
  simdjson::dom::parser p;
  auto obj = p.parse(std::string(records[0])).get_object().value();
  ASSERT_TRUE(b2.fill(obj, row, reason, unknown, missing, order, nullptr));
  EXPECT_EQ(row[0], 0.0f);
}

TEST(RowBuilder, AnEmptyFieldNameIsAName) {
  Contract c = sample();
  c.features = {feature("empty", "", FeatureKind::numeric, {}, false)};
  RowBuilder b(c);
  RowBuilder::FieldOrder order;
  std::vector<uint64_t> unknown(1, 0), missing(1, 0);
  std::string reason;
  float row[1];
  simdjson::dom::parser p;
  auto obj = p.parse(std::string(R"({"":5})")).get_object().value();
  ASSERT_TRUE(b.fill(obj, row, reason, unknown, missing, order, nullptr));
  EXPECT_EQ(row[0], 5.0f);
  ASSERT_TRUE(b.fill(obj, row, reason, unknown, missing, order, nullptr));  // the remembered order
  EXPECT_EQ(row[0], 5.0f);
}

TEST(Metrics, AucCountsTiesHalf) {
  EXPECT_DOUBLE_EQ(auc({0.9f, 0.8f, 0.3f, 0.1f}, {1, 1, 0, 0}), 1.0);
  EXPECT_DOUBLE_EQ(auc({0.1f, 0.2f}, {1, 0}), 0.0);
  EXPECT_DOUBLE_EQ(auc({0.5f, 0.5f}, {1, 0}), 0.5);
  EXPECT_TRUE(std::isnan(auc({0.5f}, {1})));
}

TEST(Metrics, BinaryConfusionPrecisionRecall) {
  FinalMetrics m = evaluate(LabelKind::binary, {0.9f, 0.6f, 0.4f, 0.2f}, {1, 0, 1, 0}, 0, 0.5);
  EXPECT_EQ(m.confusion[1][1], 1u);
  EXPECT_EQ(m.confusion[0][1], 1u);
  EXPECT_EQ(m.confusion[1][0], 1u);
  EXPECT_DOUBLE_EQ(m.precision, 0.5);
  EXPECT_DOUBLE_EQ(m.recall, 0.5);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.5);
}

TEST(Metrics, RegressionRmseMae) {
  FinalMetrics m = evaluate(LabelKind::regression, {1, 2, 3}, {1, 4, 3}, 0, 0.5);
  EXPECT_DOUBLE_EQ(m.mae, 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.rmse, std::sqrt(4.0 / 3));
}

TEST(Metrics, RocCurveEndsAtOneOne) {
  auto pts = roc_curve({0.9f, 0.8f, 0.3f, 0.1f}, {1, 0, 1, 0}, 10);
  EXPECT_EQ(pts.front(), std::make_pair(0.0, 0.0));
  EXPECT_EQ(pts.back(), std::make_pair(1.0, 1.0));
}

namespace {
// The rank statistic written out directly: rows by descending prediction, each group of ties
// adding its negatives times the positives above them plus half its own.
double reference_auc(const std::vector<float>& p, const std::vector<float>& y) {
  std::vector<size_t> idx(p.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
  double pos = 0, neg = 0, area = 0;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    double tp = 0, fp = 0;
    for (; j < idx.size() && p[idx[j]] == p[idx[i]]; ++j) (y[idx[j]] > 0.5f ? tp : fp) += 1;
    area += fp * (pos + tp / 2);
    pos += tp;
    neg += fp;
    i = j;
  }
  return pos == 0 || neg == 0 ? std::nan("") : area / (pos * neg);
}
}  // namespace

TEST(RoundMetrics, RadixAucEqualsTheSortedAuc) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> coarse(0, 50);  // many ties
  std::normal_distribution<float> fine(0, 3);
  for (int trial = 0; trial < 20; ++trial) {
    size_t n = trial < 10 ? 1000 : 70000;
    std::vector<float> p(n), y(n);
    for (size_t i = 0; i < n; ++i) {
      p[i] = trial % 2 ? static_cast<float>(coarse(rng)) / 50 : fine(rng);  // negatives too
      y[i] = rng() % 3 == 0 ? 1.0f : 0.0f;
    }
    EXPECT_NEAR(binary_auc(p.data(), y.data(), n), reference_auc(p, y), 1e-12) << "trial " << trial;
  }
  std::vector<float> p{0.5f, 0.5f, 0.9f}, y{1, 0, 1};
  EXPECT_DOUBLE_EQ(binary_auc(p.data(), y.data(), 3), 0.75);
  std::vector<float> one_class{1, 1};
  EXPECT_TRUE(std::isnan(binary_auc(p.data(), one_class.data(), 2)));
  EXPECT_TRUE(std::isnan(binary_auc(p.data(), y.data(), 0)));
}

TEST(RoundMetrics, AucOnItsOwnThreadGivesTheSameValues) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0, 1);
  size_t n = 200000;  // past the size where AUC moves to a second thread
  std::vector<float> p(n), y(n);
  for (size_t i = 0; i < n; ++i) {
    p[i] = u(rng);
    y[i] = u(rng) < p[i] ? 1.0f : 0.0f;
  }
  auto both = RoundMetrics::make("binary:logistic", {"auc", "logloss"});
  auto auc_only = RoundMetrics::make("binary:logistic", {"auc"});
  auto logloss_only = RoundMetrics::make("binary:logistic", {"logloss"});
  for (int round = 0; round < 3; ++round) {
    auto v = both->evaluate(p.data(), y.data(), n);
    EXPECT_EQ(v[0], auc_only->evaluate(p.data(), y.data(), n)[0]);
    EXPECT_EQ(v[1], logloss_only->evaluate(p.data(), y.data(), n)[0]);
    EXPECT_NEAR(v[0], reference_auc(p, y), 1e-12);
  }
}

TEST(RoundMetrics, OnlyTheMetricsCdnComputesForTheObjective) {
  EXPECT_NE(RoundMetrics::make("binary:logistic", {"auc", "logloss", "error"}), nullptr);
  EXPECT_NE(RoundMetrics::make("reg:squarederror", {"mae", "rmse"}), nullptr);
  EXPECT_EQ(RoundMetrics::make("binary:logistic", {"auc", "aucpr"}), nullptr);
  EXPECT_EQ(RoundMetrics::make("binary:logitraw", {"auc"}), nullptr);
  EXPECT_EQ(RoundMetrics::make("binary:logistic", {"error@0.7"}), nullptr);
  EXPECT_EQ(RoundMetrics::make("reg:squarederror", {"auc"}), nullptr);
  EXPECT_EQ(RoundMetrics::make("multi:softprob", {"mlogloss"}), nullptr);
  EXPECT_EQ(RoundMetrics::make("binary:logistic", {"auc", "auc"}), nullptr);
  EXPECT_EQ(RoundMetrics::make("binary:logistic", {}), nullptr);
}

TEST(RoundMetrics, XGBoostsFormulas) {
  std::vector<float> p{0.9f, 0.2f, 0.6f, 0.0f}, y{1, 0, 0, 1};
  auto m = RoundMetrics::make("binary:logistic", {"logloss", "error"});
  auto v = m->evaluate(p.data(), y.data(), p.size());
  // a prediction of 0 for a positive costs -log(1e-16), as in XGBoost
  double expect = (-std::log(0.9f) - std::log(0.8f) - std::log(0.4f) - std::log(1e-16f)) / 4;
  EXPECT_NEAR(v[0], expect, 1e-6);
  EXPECT_DOUBLE_EQ(v[1], 0.5);
  std::vector<float> r{1, 2, 3}, t{1, 4, 3};
  auto reg =
      RoundMetrics::make("reg:squarederror", {"rmse", "mae"})->evaluate(r.data(), t.data(), 3);
  EXPECT_DOUBLE_EQ(reg[0], std::sqrt(4.0 / 3));
  EXPECT_DOUBLE_EQ(reg[1], 2.0 / 3);
}

// One tree: x0 < 1.5 goes to a categorical split on x1 (categories 2 and 5 go right, a
// missing x1 goes right), else a leaf of 10. A missing x0 goes left. Base score 0.5.
std::string forest_model(const std::string& objective = "reg:squarederror",
                         const std::string& booster = "gbtree",
                         const std::string& right_children = "[2,4,-1,-1,-1]",
                         const std::string& categories = "[2,5]") {
  return R"({"learner":{"learner_model_param":{"base_score":"5E-1","num_class":"0","num_target":"1"},)"
         R"("objective":{"name":")" +
         objective + R"("},"gradient_booster":{"name":")" + booster +
         R"(","model":{"tree_info":[0],"trees":[{"left_children":[1,3,-1,-1,-1],"right_children":)" +
         right_children +
         R"(,"split_indices":[0,1,0,0,0],"split_conditions":[1.5,NaN,10,1,2],"default_left":[1,0,0,0,0],)"
         R"("split_type":[0,1,0,0,0],"categories_nodes":[1],"categories_segments":[0],)"
         R"("categories_sizes":[2],"categories":)" +
         categories + R"(,"tree_param":{"size_leaf_vector":"0"}}]}}}})";
}

TEST(Forest, XGBoostsDecisions) {
  std::string why;
  auto f = Forest::from_json(forest_model(), why);
  ASSERT_NE(f, nullptr) << why;
  const float nan = std::nanf("");
  std::vector<float> rows{1.0f, 2,    1.0f,  3,    1.0f, nan,  nan, 3,    2.0f,
                          2,    1.0f, 70.0f, 1.0f, 5.9f, 1.5f, 2,   1.0f, -1.0f};
  std::vector<float> want{2.5f, 1.5f, 2.5f, 1.5f, 10.5f, 1.5f, 2.5f, 10.5f, 1.5f};
  std::vector<float> got(want.size());
  f->predict(rows.data(), want.size(), 2, got.data());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], want[i]) << "row " << i;
  // more rows than a block, and rows narrower than the model (absent features are missing)
  std::vector<float> many(1000 * 2), out(1000);
  for (size_t i = 0; i < 1000; ++i) {
    many[2 * i] = 1.0f;
    many[2 * i + 1] = static_cast<float>(i % 7);
  }
  f->predict(many.data(), 1000, 2, out.data());
  for (size_t i = 0; i < 1000; ++i) ASSERT_EQ(out[i], i % 7 == 2 || i % 7 == 5 ? 2.5f : 1.5f);
  std::vector<float> narrow{1.0f, 2.0f};
  f->predict(narrow.data(), 2, 1, out.data());
  EXPECT_EQ(out[0], 2.5f);  // x1 missing: right
  EXPECT_EQ(out[1], 10.5f);
}

TEST(Forest, SigmoidForBinaryLogistic) {
  std::string why;
  auto f = Forest::from_json(forest_model("binary:logistic"), why);
  ASSERT_NE(f, nullptr) << why;
  std::vector<float> row{2.0f, 0}, out(1);
  f->predict(row.data(), 1, 2, out.data());
  EXPECT_NEAR(out[0], 1.0 / (1.0 + std::exp(-10.0)), 1e-7);  // base 0.5 is a margin of 0
}

TEST(Forest, TakesOnlyWhatItKnows) {
  std::string why;
  EXPECT_EQ(Forest::from_json(forest_model("multi:softprob"), why), nullptr);
  EXPECT_EQ(why, "objective 'multi:softprob'");
  EXPECT_EQ(Forest::from_json(forest_model("reg:squarederror", "dart"), why), nullptr);
  EXPECT_EQ(why, "booster 'dart'");
  EXPECT_EQ(Forest::from_json(forest_model("reg:squarederror", "gbtree", "[4,2,-1,-1,-1]"), why),
            nullptr);
  EXPECT_EQ(why, "a split whose children are not side by side in its tree");
  EXPECT_EQ(Forest::from_json(
                forest_model("reg:squarederror", "gbtree", "[2,4,-1,-1,-1]", "[2,254]"), why),
            nullptr);
  EXPECT_EQ(why, "a category above 253");
  EXPECT_EQ(Forest::from_json("{not json", why), nullptr);
}

// Trees that each split feature 0 at one of `conds` (leaves 0 and 1, missing left), and
// optionally a tree splitting it as a category.
std::string stumps(const std::vector<std::string>& conds, bool categorical_too = false) {
  std::string trees, info;
  auto stump = [&](const std::string& cond, int type) {
    if (!trees.empty()) {
      trees += ',';
      info += ',';
    }
    info += '0';
    trees += R"({"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_indices":[0,0,0],)"
             R"("split_conditions":[)" +
             cond + R"(,0,1],"default_left":[1,0,0],"split_type":[)" + std::to_string(type) +
             R"(,0,0],"categories_nodes":)" + (type ? "[0]" : "[]") + R"(,"categories_segments":)" +
             (type ? "[0]" : "[]") + R"(,"categories_sizes":)" + (type ? "[1]" : "[]") +
             R"(,"categories":)" + (type ? "[1]" : "[]") +
             R"(,"tree_param":{"size_leaf_vector":"0"}})";
  };
  for (const auto& c : conds) stump(c, 0);
  if (categorical_too) stump("NaN", 1);
  return R"({"learner":{"learner_model_param":{"base_score":"0E0","num_class":"0","num_target":"1"},)"
         R"("objective":{"name":"reg:squarederror"},"gradient_booster":{"name":"gbtree","model":{)"
         R"("tree_info":[)" +
         info + R"(],"trees":[)" + trees + "]}}}}";
}

TEST(Forest, ManyCutsOnOneFeature) {
  std::string why;
  auto f = Forest::from_json(stumps({"3", "1", "2", "2", "-0.5"}), why);
  ASSERT_NE(f, nullptr) << why;
  std::vector<float> rows{-1, -0.5f, 0.99f, 1, 2, 2.5f, 3, 1e30f, std::nanf("")};
  std::vector<float> want{0, 1, 1, 2, 4, 4, 5, 5, 0};  // how many conditions are <= the value
  std::vector<float> got(rows.size());
  f->predict(rows.data(), rows.size(), 1, got.data());
  EXPECT_EQ(got, want);

  std::vector<std::string> many;
  for (int i = 0; i < 255; ++i) many.push_back(std::to_string(i));
  EXPECT_EQ(Forest::from_json(stumps(many), why), nullptr);
  EXPECT_EQ(why, "a feature split at more than 254 values");
  many.pop_back();
  EXPECT_NE(Forest::from_json(stumps(many), why), nullptr) << why;
  EXPECT_EQ(Forest::from_json(stumps({"1"}, true), why), nullptr);
  EXPECT_EQ(why, "numeric and categorical splits on one feature");
}

TEST(Forest, ProbeRowsReachBothSidesOfTheSplits) {
  std::string why;
  auto f = Forest::from_json(forest_model(), why);
  ASSERT_NE(f, nullptr);
  auto rows = f->probe_rows(2, 200);
  std::vector<float> out(200);
  f->predict(rows.data(), 200, 2, out.data());
  std::set<float> seen(out.begin(), out.end());
  EXPECT_EQ(seen, (std::set<float>{1.5f, 2.5f, 10.5f}));
}

// The report's axes: steps of 1, 2, 2.5 or 5 times a power of ten, ticks covering the range.
TEST(NiceTicks, RoundStepsThatCoverTheRange) {
  auto t = nice_ticks(0, 21.25, 5);
  EXPECT_EQ(t.step, 5);
  EXPECT_EQ(t.values, (std::vector<double>{0, 5, 10, 15, 20, 25}));
  EXPECT_EQ(t.decimals, 0);
  t = nice_ticks(0.911854, 0.95, 8);
  EXPECT_DOUBLE_EQ(t.step, 0.005);
  EXPECT_NEAR(t.values.front(), 0.91, 1e-12);
  EXPECT_NEAR(t.values.back(), 0.95, 1e-12);
  EXPECT_EQ(t.decimals, 3);
  t = nice_ticks(0, 1, 4);
  EXPECT_DOUBLE_EQ(t.step, 0.25);
  EXPECT_EQ(t.decimals, 2);
  t = nice_ticks(-37, 412, 6);
  EXPECT_EQ(t.step, 100);
  EXPECT_EQ(t.values.front(), -100);
  EXPECT_EQ(t.values.back(), 500);
  t = nice_ticks(3, 3, 5);  // one value: an interval around it
  EXPECT_LE(t.values.front(), 3);
  EXPECT_GE(t.values.back(), 3);
  EXPECT_GT(t.values.size(), 1u);
  for (double lo : {0.0, 0.013, 7.7, 1e6}) {
    for (int target = 1; target <= 12; ++target) {
      t = nice_ticks(lo, lo * 3 + 1, target);
      double m = t.step / std::pow(10, std::floor(std::log10(t.step)));
      EXPECT_TRUE(std::abs(m - 1) < 1e-9 || std::abs(m - 2) < 1e-9 || std::abs(m - 2.5) < 1e-9 ||
                  std::abs(m - 5) < 1e-9)
          << t.step;
      EXPECT_LE(t.values.front(), lo);
      EXPECT_GE(t.values.back(), lo * 3 + 1);
    }
  }
}

}  // namespace
}  // namespace cdn::model
