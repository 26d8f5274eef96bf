// The drift reference and the population stability index.
#include <gtest/gtest.h>

#include <cmath>

#include "common/diag/errors.hpp"
#include "common/model/drift.hpp"

namespace cdn::model {
namespace {

Contract two_features() {
  Contract c;
  Feature num;
  num.name = num.field = "rtt_ms";
  num.kind = FeatureKind::numeric;
  c.features.push_back(num);
  Feature cat;
  cat.name = cat.field = "device";
  cat.kind = FeatureKind::categorical;
  cat.categories = {"mobile", "desktop"};
  c.features.push_back(cat);
  return c;
}

TEST(DriftReference, TenthsOfTheValuesWithoutRepeatsAndAMissingBin) {
  Contract c = two_features();
  Dataset d;
  d.cols = 2;
  // rtt_ms 1..100 and one missing; device: 30 mobile, 70 desktop, one missing.
  for (int i = 1; i <= 100; ++i) {
    d.x.push_back(static_cast<float>(i));
    d.x.push_back(i <= 30 ? 0.0f : 1.0f);
    d.y.push_back(0);
  }
  d.x.push_back(NAN);
  d.x.push_back(NAN);
  d.y.push_back(0);
  Reference r = build_reference(c, d, std::vector<float>(101, 0.5f));
  EXPECT_EQ(r.features[0].edges, (std::vector<double>{11, 21, 31, 41, 51, 61, 71, 81, 91}));
  ASSERT_EQ(r.features[0].bins(), 11u);
  EXPECT_DOUBLE_EQ(r.features[0].share[0], 10.0 / 101);  // 1..10
  EXPECT_DOUBLE_EQ(r.features[0].share[10], 1.0 / 101);  // missing
  EXPECT_EQ(r.features[0].bin(10.999f, false), 0u);
  EXPECT_EQ(r.features[0].bin(11, false), 1u);  // an edge opens its bin
  EXPECT_EQ(r.features[0].bin(1e9f, false), 9u);
  EXPECT_EQ(r.features[0].bin(NAN, false), 10u);
  // categories, then outside the vocabulary, then missing
  ASSERT_EQ(r.features[1].bins(), 4u);
  EXPECT_DOUBLE_EQ(r.features[1].share[0], 30.0 / 101);
  EXPECT_DOUBLE_EQ(r.features[1].share[3], 1.0 / 101);
  EXPECT_EQ(r.features[1].bin(NAN, true), 2u);
  EXPECT_EQ(r.features[1].bin(NAN, false), 3u);
  // every score the same: no edge repeats, two bins and the missing one
  EXPECT_EQ(r.score.edges, (std::vector<double>{0.5}));
  EXPECT_EQ(r.offsets(), (std::vector<size_t>{0, 11, 15, 18}));
  // JSON round trip, checked against the contract
  Reference back = Reference::from_json(r.to_json(), c, "test");
  EXPECT_EQ(back.to_json(), r.to_json());
  Contract other = c;
  other.features[1].categories = {"mobile", "tablet"};
  EXPECT_THROW(Reference::from_json(r.to_json(), other, "test"), UsageError);
  EXPECT_THROW(Reference::from_json("{\"rows\":1}", c, "test"), UsageError);
}

TEST(Psi, ZeroForTheSameSharesAndFlooredForEmptyBins) {
  std::vector<double> ref{0.25, 0.25, 0.5, 0};
  uint64_t same[] = {25, 25, 50, 0};
  EXPECT_DOUBLE_EQ(psi(ref, same, 4), 0);
  uint64_t none[] = {0, 0, 0, 0};
  EXPECT_DOUBLE_EQ(psi(ref, none, 4), 0);
  // all in the first bin: the others count as 1e-4
  uint64_t first[] = {100, 0, 0, 0};
  double want = (1 - 0.25) * std::log(1 / 0.25) + (1e-4 - 0.25) * std::log(1e-4 / 0.25) +
                (1e-4 - 0.5) * std::log(1e-4 / 0.5);
  EXPECT_NEAR(psi(ref, first, 4), want, 1e-12);
}

}  // namespace
}  // namespace cdn::model
