#include "common/gen/world.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string>
#include <string_view>

namespace cdn::gen {

const Network kNetworks[] = {
    // FRA1
    {3320, "DE", false, .30, 28000, 12},
    {3209, "DE", false, .18, 26000, 14},
    {6805, "DE", true, .12, 9000, 38},
    {8447, "AT", false, .12, 24000, 18},
    {3303, "CH", false, .14, 40000, 16},
    {5617, "PL", false, .14, 22000, 26},
    // AMS1
    {1136, "NL", false, .35, 35000, 10},
    {33915, "NL", false, .35, 38000, 9},
    {5432, "BE", false, .30, 30000, 14},
    // LHR1
    {2856, "GB", false, .30, 30000, 11},
    {5089, "GB", false, .22, 40000, 12},
    {5607, "GB", false, .18, 28000, 13},
    {25135, "GB", true, .18, 10000, 40},
    {5466, "IE", false, .12, 25000, 20},
    // CDG1
    {3215, "FR", false, .32, 35000, 12},
    {12322, "FR", false, .26, 45000, 11},
    {5410, "FR", false, .20, 30000, 14},
    {15557, "FR", true, .22, 9000, 42},
    // MAD1
    {3352, "ES", false, .40, 32000, 13},
    {12479, "ES", false, .30, 30000, 15},
    {12353, "PT", true, .30, 9000, 40},
    // IAD1
    {7922, "US", false, .32, 35000, 16},
    {701, "US", false, .22, 40000, 14},
    {7018, "US", false, .18, 30000, 18},
    {21928, "US", true, .18, 11000, 45},
    {812, "CA", false, .10, 28000, 25},
    // LAX1
    {7922, "US", false, .28, 35000, 15},
    {20001, "US", false, .26, 32000, 16},
    {22773, "US", false, .16, 28000, 20},
    {21928, "US", true, .20, 11000, 44},
    {8151, "MX", false, .10, 12000, 55},
    // GRU1
    {28573, "BR", false, .34, 18000, 20},
    {18881, "BR", false, .28, 16000, 22},
    {26599, "BR", true, .20, 6000, 55},
    {7303, "AR", false, .18, 12000, 48},
    // NRT1
    {2516, "JP", false, .34, 45000, 9},
    {4713, "JP", false, .34, 50000, 8},
    {17676, "JP", true, .32, 15000, 32},
    // SIN1
    {9506, "SG", false, .28, 55000, 6},
    {4657, "SG", false, .20, 50000, 7},
    {4788, "MY", false, .28, 20000, 22},
    {7713, "ID", false, .24, 9000, 38},
    // SYD1
    {1221, "AU", false, .40, 25000, 14},
    {4804, "AU", false, .28, 22000, 16},
    {7545, "AU", false, .18, 20000, 17},
    {4771, "NZ", false, .14, 30000, 32},
    // BOM1
    {55836, "IN", true, .45, 7000, 45},
    {24560, "IN", false, .30, 14000, 30},
    {9829, "IN", false, .15, 6000, 40},
    {45609, "IN", true, .10, 6000, 50},
};

const Pop kPops[] = {
    {"FRA1", 1, 1.2, 0, 6},   {"AMS1", 1, 0.8, 6, 3},   {"LHR1", 0, 1.1, 9, 5},
    {"CDG1", 1, 0.9, 14, 4},  {"MAD1", 1, 0.6, 18, 3},  {"IAD1", -5, 1.5, 21, 5},
    {"LAX1", -8, 1.1, 26, 5}, {"GRU1", -3, 0.8, 31, 4}, {"NRT1", 9, 0.9, 35, 3},
    {"SIN1", 8, 0.7, 38, 4},  {"SYD1", 11, 0.5, 42, 4}, {"BOM1", 5.5, 0.9, 46, 4},
};
static_assert(std::size(kPops) == kPopCount);

namespace {

// Requests per local hour, relative (evening peak, small hours trough); normalised to mean 1.
constexpr double kHourly[24] = {1.25, 0.95, 0.68, 0.50, 0.40, 0.38, 0.45, 0.60,
                                0.75, 0.85, 0.90, 0.95, 1.00, 1.00, 1.00, 1.05,
                                1.10, 1.20, 1.35, 1.55, 1.75, 1.85, 1.75, 1.50};

double diurnal(double local_hour) {
  static const double mean = [] {
    double s = 0;
    for (double v : kHourly) s += v;
    return s / 24;
  }();
  double h = std::fmod(local_hour, 24.0);
  if (h < 0) h += 24;
  int i = static_cast<int>(h);
  if (i > 23) i = 23;
  double f = h - i;
  return (kHourly[i] * (1 - f) + kHourly[(i + 1) % 24] * f) / mean;
}

// Device mix of a network's clients, and content mix of a device.
constexpr double kDeviceMixFixed[kDevices] = {.22, .28, .27, .11, .12};
constexpr double kDeviceMixMobile[kDevices] = {.85, 0, 0, .15, 0};
constexpr double kContentMix[kDevices][kContents] = {
    {.30, .12, .33, .25},  // mobile
    {.22, .08, .38, .32},  // desktop
    {.62, .30, .05, .03},  // smart_tv
    {.45, .15, .25, .15},  // tablet
    {.45, .20, .10, .25},  // console
};
// Highest rung a device's player asks for, and how its connection compares with the line's.
constexpr uint32_t kDeviceCap[kDevices] = {3000, 5800, 8000, 4300, 8000};
constexpr double kDeviceLink[kDevices] = {0.7, 1.0, 1.2, 0.8, 1.3};
constexpr uint32_t kLadder[] = {235, 375, 750, 1750, 3000, 4300, 5800, 8000};

// --shift devices: the share of clients that report as mobile.
constexpr double kShiftToMobile = 0.5;

// --shift slow-region=NAME: the PoPs of each region.
struct Region {
  std::string_view name;
  std::string_view pops[5];
};
constexpr Region kRegions[] = {
    {"europe", {"FRA1", "AMS1", "LHR1", "CDG1", "MAD1"}},
    {"americas", {"IAD1", "LAX1", "GRU1"}},
    {"asia-pacific", {"NRT1", "SIN1", "SYD1", "BOM1"}},
};

int pop_index(std::string_view code) {
  for (int p = 0; p < kPopCount; ++p)
    if (code == kPops[p].code) return p;
  return -1;
}

template <size_t N>
int pick(Rng& rng, const double (&weights)[N]) {
  double u = rng.uniform();
  for (size_t i = 0; i + 1 < N; ++i) {
    if (u < weights[i]) return static_cast<int>(i);
    u -= weights[i];
  }
  return static_cast<int>(N - 1);
}

// A /16 per network, from its ASN, outside private, loopback and reserved space. Synthetic:
// not the network's real address blocks.
uint32_t network_prefix(uint32_t asn, int index) {
  uint64_t x = asn * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(index);
  uint64_t h = splitmix64(x);
  uint32_t a = 11 + static_cast<uint32_t>(h % 213);  // 11 .. 223
  if (a == 100 || a == 127 || a == 169 || a == 172 || a == 192 || a == 198) ++a;
  uint32_t b = static_cast<uint32_t>((h >> 16) & 0xff);
  return (a << 24) | (b << 16);
}

// Coefficients of the label's logistic model (docs/gen.md, "The label").
struct Label {
  static constexpr double kBias = -2.5;
  static constexpr double kRatio = 1.8;  // per ln(ratio / kRatioRef), ratio = bitrate / link
  static constexpr double kRatioRef = 0.5;
  static constexpr double kLive = 0.6;        // live players keep short buffers
  static constexpr double kSlowObject = 1.0;  // image, api: per ln(response_time / kSlowRef)
  static constexpr double kSlowRef = 300;
  static constexpr double kRtt = 1.0;  // per ln(rtt / kRttRef)
  static constexpr double kRttRef = 40;
  static constexpr double kTtfb = 0.4;  // per ln(ttfb / kTtfbRef)
  static constexpr double kTtfbRef = 100;
  static constexpr double kMiss = 0.5;  // MISS or EXPIRED
  static constexpr double k5xx = 2.2;
  static constexpr double k4xx = 0.5;
  static constexpr double kIncident = 1.5;  // per unit of severity
  static constexpr double kDevice[kDevices] = {0.4, 0.0, -0.1, 0.2, -0.2};
  static constexpr double kClientSigma = 0.5;   // sd of a client's proneness (unobserved)
  static constexpr double kSessionSigma = 0.6;  // sd of per-request noise (unobserved)
};

}  // namespace

bool add_shift(Shift& shift, std::string_view spec) {
  if (spec == "devices") {
    shift.devices = true;
    return true;
  }
  constexpr std::string_view kRegion = "slow-region=", kPop = "slow-pop=";
  if (spec.starts_with(kRegion)) {
    spec.remove_prefix(kRegion.size());
    for (const Region& r : kRegions) {
      if (r.name != spec) continue;
      for (std::string_view code : r.pops)
        if (!code.empty()) shift.slow_pops |= 1u << pop_index(code);
      return true;
    }
    return false;
  }
  if (spec.starts_with(kPop)) {
    spec.remove_prefix(kPop.size());
    const int p = pop_index(spec);
    if (p < 0) return false;
    shift.slow_pops |= 1u << p;
    return true;
  }
  return false;
}

std::string shift_choices() {
  std::string s = "devices, slow-region=REGION (";
  for (const Region& r : kRegions) {
    if (&r != kRegions) s += ", ";
    s += r.name;
  }
  s += ") or slow-pop=POP (";
  for (int p = 0; p < kPopCount; ++p) {
    if (p > 0) s += ", ";
    s += kPops[p].code;
  }
  return s + ")";
}

World::World(uint64_t seed, int64_t start_ms, double rate, const Shift& shift)
    : shift_(shift),
      requests_(stream_seed(seed, kRequests)),
      incident_rng_(stream_seed(seed, kIncidents)),
      start_hours_(static_cast<double>(start_ms) / 3.6e6),
      rate_(rate) {
  Rng rng(stream_seed(seed, kClients));
  double total_weight = 0;
  for (const auto& p : kPops) total_weight += p.weight;
  weight_sum_ = total_weight;
  constexpr double kClientsTotal = 40000;
  for (int p = 0; p < kPopCount; ++p) {
    const Pop& pop = kPops[p];
    auto& pool = clients_[p];
    size_t n = static_cast<size_t>(kClientsTotal * pop.weight / total_weight);
    pool.reserve(n);
    for (size_t i = 0; i < n; ++i) pool.push_back(make_client(rng, pop));
    // The first incident somewhere in the first gap, so short runs may see one.
    Incident& inc = incidents_[p];
    inc.start = incident_rng_.exponential(kIncidentGapS);
    draw_incident_body(inc);
  }
  // --shift devices draws from a stream of its own, so the other streams stay as they were.
  Rng shift_rng(stream_seed(seed, kShift));
  for (auto& pool : clients_) {
    for (auto& c : pool) {
      c.shown_device = c.device;
      if (shift_.devices && shift_rng.chance(kShiftToMobile)) c.shown_device = kMobile;
    }
  }
}

void World::next(Event& e) {
  refresh_load(t_);
  t_ += requests_.exponential(1 / (rate_ * load_total_));
  refresh_load(t_);
  Rng& r = requests_;
  e.t = t_;

  // Where and who.
  double u = r.uniform() * load_cum_[kPopCount - 1];
  int p = 0;
  while (p + 1 < kPopCount && u >= load_cum_[p]) ++p;
  const double load = load_[p];
  const double sev = incident_at(p, t_);
  const auto& pool = clients_[p];
  double skew = r.uniform();
  const Client& c = pool[static_cast<size_t>(skew * skew * static_cast<double>(pool.size()))];
  const Network& net = kNetworks[c.net];
  e.pop = static_cast<uint8_t>(p);
  e.ip = c.ip;
  e.net = c.net;
  e.asn = net.asn;
  e.device = c.shown_device;
  e.incident = sev;
  const int content = pick(r, kContentMix[c.device]);
  e.content = static_cast<uint8_t>(content);
  const bool video = content == kVod || content == kLive;

  // Cache: an incident at the PoP evicts, so part of the hits become misses.
  static constexpr double kCacheMix[kContents][4] = {
      {.86, .10, .03, .01}, {.92, .06, .02, 0}, {.90, .07, .03, 0}, {.10, .25, 0, .65}};
  double cache_p[4];
  std::copy(std::begin(kCacheMix[content]), std::end(kCacheMix[content]), cache_p);
  cache_p[kMiss] += cache_p[kHit] * 0.5 * sev;
  cache_p[kHit] *= 1 - 0.5 * sev;
  const int cache = pick(r, cache_p);
  e.cache = static_cast<uint8_t>(cache);
  const bool origin = cache != kHit;

  e.status = draw_status(content, cache, sev);

  // Network: the client's path, evening queueing, and the incident.
  e.rtt_ms = c.rtt_ms * r.lognormal(1, 0.25) + 6 * load;
  if (sev > 0) e.rtt_ms += sev * incidents_[p].rtt_add_ms * r.lognormal(1, 0.2);
  const double nominal =
      c.down_kbps * kDeviceLink[c.device] * r.lognormal(1, 0.45) * (1.08 - 0.12 * load);
  double link = nominal * (1 - 0.8 * sev) * (origin ? 0.8 : 1.0);
  link = std::max(link, 64.0);

  // Time to first byte: path, a new connection now and then, and the server.
  const double server = draw_server_ms(e.status, cache, sev);
  const double handshake = r.chance(content == kApi ? 0.3 : 0.15) ? 2 * e.rtt_ms : 0;
  e.ttfb_ms = e.rtt_ms + handshake + server;

  // Adaptive bitrate: the player picks the highest rung its throughput estimate allows.
  // The estimate comes from earlier segments, so it lags when an incident starts.
  e.bitrate_kbps = 0;
  if (video) {
    const double estimate = (link + (nominal - link) * 0.6) * r.lognormal(1, 0.35);
    double budget = estimate * (content == kLive ? 0.75 : 0.85);
    budget = std::min(budget, static_cast<double>(kDeviceCap[c.device]));
    if (content == kLive) budget = std::min(budget, 5800.0);
    uint32_t rung = kLadder[0];
    for (uint32_t l : kLadder)
      if (l <= budget) rung = l;
    e.bitrate_kbps = rung;
  }

  const double body = draw_body(e.status, content, e.bitrate_kbps);
  e.bytes = static_cast<uint64_t>(body + r.lognormal(380, 0.12));

  // Transfer: the link's rate plus slow-start round trips; throughput as measured.
  const double bits = static_cast<double>(e.bytes) * 8;
  const double rounds = std::min(8.0, std::log2(1 + static_cast<double>(e.bytes) / 14600));
  const double transfer_ms = bits / link + rounds * e.rtt_ms * 0.5 + 0.1;
  e.response_ms = e.ttfb_ms + transfer_ms;
  e.throughput_kbps = bits / transfer_ms;

  // The label: a logistic model of the request plus unobserved client and session noise.
  const double z = logit(e, c, link, sev) + Label::kSessionSigma * r.normal();
  e.qoe_bad = r.uniform() < 1 / (1 + std::exp(-z)) ? 1 : 0;

  // --shift slow-region, slow-pop: the written round trip only, after everything it drove.
  if (shift_.slow_pops >> p & 1) e.rtt_ms += kSlowRttMs;
}

// The helpers of next() below are inline, as they were when defined in the class: next() runs
// them for every record, and keeps them inlined.
inline int World::draw_status(int content, int cache, double sev) {
  Rng& r = requests_;
  const double p5xx = 0.002 + (cache == kMiss || cache == kExpired ? 0.008 : 0) +
                      (cache == kBypass ? 0.004 : 0) + 0.15 * sev;
  static constexpr double kP4xx[kContents] = {.005, .004, .015, .025};
  if (r.chance(p5xx)) {
    static constexpr double k5xxMix[] = {.1, .3, .3, .3};
    static constexpr uint16_t k5xxCode[] = {500, 502, 503, 504};
    return k5xxCode[pick(r, k5xxMix)];
  }
  if (r.chance(kP4xx[content])) {
    double v = r.uniform();
    return v < .7 ? 404 : v < .85 ? 403 : content == kApi ? 429 : 410;
  }
  if (content == kVod) return r.chance(.45) ? 206 : 200;
  if (content == kImage) return r.chance(.06) ? 304 : 200;
  if (content == kApi) return r.chance(.03) ? 304 : 200;
  return 200;
}

inline double World::draw_server_ms(int status, int cache, double sev) {
  Rng& r = requests_;
  if (status == 504) return r.lognormal(15000, 0.3);
  if (status == 502) return r.lognormal(300, 0.8);
  if (status == 503) return r.lognormal(8, 0.5);
  if (status == 500) return r.lognormal(50, 1.0);
  if (cache == kHit) return r.lognormal(4, 0.6);
  if (cache == kBypass) return r.lognormal(40, 0.8) * (1 + sev);
  return r.lognormal(70, 0.7) * (1 + 2 * sev);
}

inline double World::draw_body(int status, int content, uint32_t bitrate_kbps) {
  Rng& r = requests_;
  if (status >= 400) return r.lognormal(600, 0.5);
  if (status == 304) return 0;
  switch (content) {
    case kVod:
      if (status == 200 && r.chance(0.03)) return std::min(r.pareto(2e6, 1.2), 4e9);
      return bitrate_kbps * 125.0 * 4 * r.lognormal(1, 0.12);  // 4 s segments
    case kLive:
      return bitrate_kbps * 125.0 * 2 * r.lognormal(1, 0.12);  // 2 s segments
    case kImage:
      return r.chance(0.03) ? std::min(r.pareto(4e5, 1.4), 1e9) : r.lognormal(45000, 1.0);
    default:
      return std::min(r.lognormal(1500, 1.2), 1e8);
  }
}

inline double World::logit(const Event& e, const Client& c, double link, double sev) {
  double z = Label::kBias + Label::kDevice[c.device] + c.proneness;
  if (e.content == kVod || e.content == kLive) {
    const double ratio = std::max(e.bitrate_kbps / link, 0.05);
    z += Label::kRatio * std::log(ratio / Label::kRatioRef);
    if (e.content == kLive) z += Label::kLive;
  } else {
    z += Label::kSlowObject * std::log(std::max(e.response_ms, 1.0) / Label::kSlowRef);
  }
  z += Label::kRtt * std::log(e.rtt_ms / Label::kRttRef);
  z += Label::kTtfb * std::log(e.ttfb_ms / Label::kTtfbRef);
  if (e.cache == kMiss || e.cache == kExpired) z += Label::kMiss;
  if (e.status >= 500) {
    z += Label::k5xx;
  } else if (e.status >= 400) {
    z += Label::k4xx;
  }
  return z + Label::kIncident * sev;
}

inline Client World::make_client(Rng& rng, const Pop& pop) {
  double shares[8] = {};
  for (int i = 0; i < pop.nets; ++i) shares[i] = kNetworks[pop.first_net + i].share;
  double u = rng.uniform();
  int k = 0;
  while (k + 1 < pop.nets && u >= shares[k]) u -= shares[k++];
  const int ni = pop.first_net + k;
  const Network& net = kNetworks[ni];
  Client c;
  c.net = static_cast<uint16_t>(ni);
  c.device = static_cast<uint8_t>(pick(rng, net.mobile ? kDeviceMixMobile : kDeviceMixFixed));
  uint32_t host = (rng.below(256) << 8) | (1 + rng.below(254));
  c.ip = network_prefix(net.asn, ni) | host;
  c.down_kbps = rng.lognormal(net.down_kbps, 0.8);
  bool wifi = !net.mobile && (c.device == kMobile || c.device == kTablet);
  c.rtt_ms = rng.lognormal(net.rtt_ms, 0.35) + (wifi ? 5 : 0);
  c.proneness = Label::kClientSigma * rng.normal();
  return c;
}

inline void World::draw_incident_body(Incident& inc) {
  inc.end = inc.start + incident_rng_.uniform(10, 45) * 60;
  inc.severity = incident_rng_.uniform(0.35, 1.0);
  inc.rtt_add_ms = incident_rng_.uniform(60, 250);
}

inline double World::incident_at(int p, double t) {
  Incident& inc = incidents_[p];
  while (t >= inc.end) {
    inc.start = inc.end + incident_rng_.exponential(kIncidentGapS);
    draw_incident_body(inc);
  }
  if (t < inc.start) return 0;
  constexpr double kRamp = 180;
  double edge = std::min({1.0, (t - inc.start) / kRamp, (inc.end - t) / kRamp});
  return inc.severity * edge;
}

inline void World::refresh_load(double t) {
  int64_t minute = static_cast<int64_t>(std::floor(t / 60));
  if (minute == load_minute_) return;
  load_minute_ = minute;
  const double hours = start_hours_ + static_cast<double>(minute) / 60;
  double cum = 0;
  for (int p = 0; p < kPopCount; ++p) {
    load_[p] = diurnal(hours + kPops[p].utc_offset_h);
    cum += kPops[p].weight * load_[p];
    load_cum_[p] = cum;
  }
  load_total_ = cum / weight_sum_;
}

}  // namespace cdn::gen
