// The feature contract, row building and metrics of common/model.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cmath>
#include <fstream>
#include <random>

#include "common/diag/errors.hpp"
#include "common/model/contract.hpp"
#include "common/model/metrics.hpp"
#include "common/model/round_metrics.hpp"

namespace cdn::model {
namespace {

Contract sample() {
  Contract c;
  c.schema_hash = "0123456789abcdef";
  c.features.push_back({"rtt_ms", "rtt_ms", FeatureKind::numeric, {}, false});
  c.features.push_back(
      {"device", "device", FeatureKind::categorical, {"mobile", "desktop"}, false});
  c.features.push_back({"pop", "pop", FeatureKind::categorical, {"AMS1", "FRA1"}, true});
  c.features.push_back({"timestamp_hour", "timestamp", FeatureKind::hour_of_day, {}, false});
  c.features.push_back({"timestamp_weekday", "timestamp", FeatureKind::day_of_week, {}, false});
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
    "n":{"type":"integer"},"s":{"type":"string"},"e":{"enum":["a","b"]},"y":{"enum":[0,1]}}})";
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
  std::vector<uint64_t> unknown(5, 0);
  std::string reason;
  float row[5];
  auto obj =
      p
          .parse(std::string(
              R"({"rtt_ms":12.5,"device":"desktop","pop":"XXX1","timestamp":"2026-11-24T03:00:00Z"})"))
          .get_object()
          .value();
  ASSERT_TRUE(b.fill(obj, row, reason, unknown));
  EXPECT_EQ(row[0], 12.5f);
  EXPECT_EQ(row[1], 1.0f);
  EXPECT_TRUE(std::isnan(row[2]));
  EXPECT_EQ(unknown[2], 1u);
  EXPECT_EQ(row[3], 3.0f);
  EXPECT_EQ(row[4], 1.0f);
  auto bad = p.parse(std::string(R"({"rtt_ms":"fast"})")).get_object().value();
  EXPECT_FALSE(b.fill(bad, row, reason, unknown));
  EXPECT_EQ(reason, "field 'rtt_ms' is a string; the model wants a number");
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
    EXPECT_NEAR(binary_auc(p.data(), y.data(), n), auc(p, y), 1e-12) << "trial " << trial;
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
    EXPECT_NEAR(v[0], auc(p, y), 1e-12);
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

}  // namespace
}  // namespace cdn::model
