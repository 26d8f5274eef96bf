// The generator model of `cdn gen`; docs/gen.md describes it for users. Three parts:
//   World:       the fixed CDN (PoPs, networks), the seeded clients, load and incidents;
//   World::next: one request's physics and its label;
//   LineWriter:  one record as an NDJSON or CSV line, clean or deliberately broken.
// Generator puts them together with the late-arrival queue and the dirty-line draws.
#include "common/gen/model.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <queue>

#include "common/record/timestamp.hpp"

namespace cdn::gen {

// ---------------------------------------------------------------------------------------------
// Random numbers

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {
    u = 2 * uniform() - 1;
    v = 2 * uniform() - 1;
    s = u * u + v * v;
  } while (s >= 1 || s == 0);
  const double m = std::sqrt(-2 * std::log(s) / s);
  spare_ = v * m;
  has_spare_ = true;
  return u * m;
}

double Rng::lognormal(double median, double sigma) {
  return median * std::exp(sigma * normal());
}

double Rng::exponential(double mean) {
  return -mean * std::log(1 - uniform());
}

double Rng::pareto(double scale, double alpha) {
  return scale * std::pow(1 - uniform(), -1 / alpha);
}

uint64_t stream_seed(uint64_t seed, uint64_t stream) {
  uint64_t s = stream * 0x632be59bd9b4e019ULL + 0x1234567ULL;
  uint64_t x = seed ^ splitmix64(s);
  return splitmix64(x);
}

namespace {

enum Stream : uint64_t { kClients = 1, kRequests = 2, kIncidents = 3, kLate = 4, kDirty = 5 };

// ---------------------------------------------------------------------------------------------
// The fixed world: PoPs and the networks whose clients they serve. Not drawn from the seed, so
// a model trained on one seed sees the same PoPs, countries and ASNs in data from another.

enum Device : uint8_t { kMobile, kDesktop, kSmartTv, kTablet, kConsole, kDevices };
enum Content : uint8_t { kVod, kLive, kImage, kApi, kContents };
enum Cache : uint8_t { kHit, kMiss, kExpired, kBypass };

constexpr std::string_view kDeviceName[] = {"mobile", "desktop", "smart_tv", "tablet", "console"};
constexpr std::string_view kContentName[] = {"vod", "live", "image", "api"};
constexpr std::string_view kCacheName[] = {"HIT", "MISS", "EXPIRED", "BYPASS"};

struct Network {
  uint32_t asn;
  char country[3];
  bool mobile;       // a mobile carrier: phones and tablets on cellular
  double share;      // of its PoP's clients
  double down_kbps;  // median access bandwidth of its clients
  double rtt_ms;     // median round trip to the PoP
};

struct Pop {
  char code[5];
  double utc_offset_h;  // local time drives the load curve
  double weight;        // relative size
  int first_net, nets;  // its slice of kNetworks
};

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
constexpr int kPopCount = static_cast<int>(std::size(kPops));

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

struct Client {
  uint32_t ip;
  uint16_t net;  // index into kNetworks
  uint8_t device;
  double down_kbps;  // this client's line
  double rtt_ms;     // this client's path to the PoP
  double proneness;  // unobserved: player, Wi-Fi and habits (adds to the label's logit)
};

struct Incident {
  double start = 0, end = 0;  // seconds of event time since the start
  double severity = 0;        // 0 .. 1 at the peak
  double rtt_add_ms = 0;      // extra round trip at full severity
};

// One generated request, before it becomes text.
struct Event {
  double t = 0;  // seconds of event time since --start
  uint32_t ip = 0, asn = 0;
  uint16_t net = 0;
  uint8_t pop = 0, device = 0, content = 0, cache = 0;
  uint16_t status = 200;
  uint64_t bytes = 0;
  double response_ms = 0, ttfb_ms = 0, rtt_ms = 0, throughput_kbps = 0;
  uint32_t bitrate_kbps = 0;
  uint8_t qoe_bad = 0;
  double incident = 0;  // severity at this moment (not written)
};

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

class World {
 public:
  World(uint64_t seed, int64_t start_ms, double rate)
      : requests_(stream_seed(seed, kRequests)),
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
  }

  void next(Event& e) {
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
    e.device = c.device;
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
  }

 private:
  static constexpr double kIncidentGapS = 8 * 3600;  // mean time between incidents at a PoP

  int draw_status(int content, int cache, double sev) {
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

  // Time the server takes before the first byte: errors have their own, a hit is quick, a
  // miss waits for the origin (slower during an incident).
  double draw_server_ms(int status, int cache, double sev) {
    Rng& r = requests_;
    if (status == 504) return r.lognormal(15000, 0.3);
    if (status == 502) return r.lognormal(300, 0.8);
    if (status == 503) return r.lognormal(8, 0.5);
    if (status == 500) return r.lognormal(50, 1.0);
    if (cache == kHit) return r.lognormal(4, 0.6);
    if (cache == kBypass) return r.lognormal(40, 0.8) * (1 + sev);
    return r.lognormal(70, 0.7) * (1 + 2 * sev);
  }

  // Body bytes: segments for video (progressive downloads as a Pareto tail), lognormal
  // images with a Pareto tail, small API bodies; error and 304 bodies are small.
  double draw_body(int status, int content, uint32_t bitrate_kbps) {
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

  // The logit of qoe_bad before the per-request noise (docs/gen.md, "The label").
  static double logit(const Event& e, const Client& c, double link, double sev) {
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

  Client make_client(Rng& rng, const Pop& pop) {
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

  void draw_incident_body(Incident& inc) {
    inc.end = inc.start + incident_rng_.uniform(10, 45) * 60;
    inc.severity = incident_rng_.uniform(0.35, 1.0);
    inc.rtt_add_ms = incident_rng_.uniform(60, 250);
  }

  // Severity at PoP p at time t: ramps up and down over three minutes at the window's edges.
  double incident_at(int p, double t) {
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

  // The load at each PoP follows its local hour; recomputed once a minute of event time.
  void refresh_load(double t) {
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

  Rng requests_;
  Rng incident_rng_;
  double start_hours_;
  double rate_;
  double weight_sum_ = 1;
  double t_ = 0;
  std::array<std::vector<Client>, kPopCount> clients_;
  std::array<Incident, kPopCount> incidents_;
  int64_t load_minute_ = INT64_MIN;
  std::array<double, kPopCount> load_{};
  std::array<double, kPopCount> load_cum_{};
  double load_total_ = 1;
};

// ---------------------------------------------------------------------------------------------
// Text

enum Field : int {
  kTimestamp,
  kClientIp,
  kAsn,
  kCountry,
  kPopField,
  kDevice,
  kContentType,
  kHttpStatus,
  kCacheStatus,
  kBytesSent,
  kResponseTime,
  kTtfb,
  kRtt,
  kThroughput,
  kBitrate,
  kQoeBad,
  kFieldCount
};

constexpr std::string_view kFieldName[kFieldCount] = {
    "timestamp",        "client_ip",    "asn",         "country",         "pop",
    "device",           "content_type", "http_status", "cache_status",    "bytes_sent",
    "response_time_ms", "ttfb_ms",      "rtt_ms",      "throughput_kbps", "bitrate_kbps",
    "qoe_bad"};

constexpr bool is_string_field(int f) {
  return f == kTimestamp || f == kClientIp || f == kCountry || f == kPopField || f == kDevice ||
         f == kContentType || f == kCacheStatus;
}

// Kinds of bad line (docs/gen.md, "Dirty lines").
enum class Dirt : uint8_t {
  none,
  truncated,         // the line cut short
  unbalanced,        // NDJSON: closing brace missing; CSV: a stray quote inside a cell
  not_a_record,      // a line that is no record at all
  number_as_string,  // NDJSON: "asn":"13335"; CSV: a number cell holding text
  missing_field,     // a required field left out
  unknown_field,     // an extra field
  out_of_range,      // http_status 700, negative bytes_sent, asn 0, ...
  bad_enum,          // device "fridge", lower-case cache status, bad country, pop, address
  bad_timestamp,     // "2026-13-45T25:00:00Z", "yesterday", no zone, epoch seconds
  null_value,        // NDJSON null; CSV an empty cell
};
constexpr int kDirtKinds = 10;

struct Mutation {
  Dirt kind = Dirt::none;
  int field = -1;
  std::string_view text;  // the replacement value or line
  bool quote = false;     // NDJSON: the replacement is a string
  double cut = 0;         // truncated: the fraction of the line kept
};

struct Override {
  int field;
  std::string_view text;
  bool quote;
};

constexpr Override kOutOfRange[] = {
    {kHttpStatus, "700", false}, {kHttpStatus, "99", false},  {kBytesSent, "-1234", false},
    {kAsn, "0", false},          {kAsn, "4294967296", false}, {kRtt, "-3.5", false},
    {kTtfb, "-0.4", false},      {kQoeBad, "2", false},
};
constexpr Override kBadEnum[] = {
    {kDevice, "fridge", true},       {kContentType, "podcast", true}, {kCacheStatus, "STALE", true},
    {kCacheStatus, "hit", true},     {kCountry, "Germany", true},     {kPopField, "fra1", true},
    {kClientIp, "300.12.0.7", true},
};
constexpr Override kBadTimestamp[] = {
    {kTimestamp, "2026-13-45T25:00:00Z", true},
    {kTimestamp, "yesterday", true},
    {kTimestamp, "2026-11-22 10:15:30", true},
    {kTimestamp, "1795000000", false},
};
constexpr std::string_view kUnknownField[] = {"\"x_request_id\":\"7f3a9c2e41d0\"",
                                              "\"edge_node\":\"fra1-edge-17\"",
                                              "\"user_agent\":\"Mozilla/5.0 (SMART-TV; Linux)\""};
constexpr std::string_view kUnknownCell[] = {"7f3a9c2e41d0", "fra1-edge-17", "Mozilla/5.0"};
constexpr std::string_view kNotARecord[] = {
    "<html><body><h1>502 Bad Gateway</h1></body></html>",
    "203.0.113.7 - - [22/Nov/2026:10:15:30 +0000] \"GET /vod/seg_00042.m4s HTTP/1.1\" 206 1843200",
    "#Fields: date time c-ip cs-method cs-uri-stem sc-status",
};
constexpr int kNumberFields[] = {kAsn, kHttpStatus, kBytesSent, kRtt, kThroughput};

// Appends to a fixed buffer: no allocation, one copy per line. Lines are far shorter than it.
class Buf {
 public:
  void clear() { p_ = data_; }
  void put(char c) { *p_++ = c; }
  void put(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void put_uint(uint64_t v) { p_ = std::to_chars(p_, data_ + sizeof data_, v).ptr; }
  // One decimal, always written ("12.0"): a fixed shape is friendlier to CSV readers.
  void put_fixed1(double v) {
    uint64_t tenths = static_cast<uint64_t>(v * 10 + 0.5);
    put_uint(tenths / 10);
    put('.');
    put(static_cast<char>('0' + tenths % 10));
  }
  void put2(int v) {
    p_[0] = static_cast<char>('0' + v / 10);
    p_[1] = static_cast<char>('0' + v % 10);
    p_ += 2;
  }
  size_t size() const { return static_cast<size_t>(p_ - data_); }
  void resize(size_t n) { p_ = data_ + n; }
  std::string_view view() const { return {data_, size()}; }

 private:
  char data_[2048];
  char* p_ = data_;
};

class LineWriter {
 public:
  LineWriter(Format format, bool label, int64_t start_ms)
      : csv_(format == Format::csv), label_(label), start_ms_(start_ms) {}

  int fields() const { return label_ ? kFieldCount : kFieldCount - 1; }

  void write(std::string& out, const Event& e, const Mutation& m) {
    b_.clear();
    if (m.kind == Dirt::not_a_record) {
      out.assign(m.text);
      return;
    }
    if (!csv_) b_.put('{');
    bool first = true;
    for (int f = 0; f < fields(); ++f) {
      if (f == m.field && m.kind == Dirt::missing_field) continue;
      if (!first) b_.put(',');
      first = false;
      if (!csv_) b_.put(kFieldKey[f]);
      if (f != m.field) {
        value(f, e);
        continue;
      }
      switch (m.kind) {
        case Dirt::number_as_string:
          if (csv_) {
            b_.put("n/a");
          } else {
            b_.put('"');
            value(f, e);
            b_.put('"');
          }
          break;
        case Dirt::unbalanced:  // CSV only: a quote in an unquoted cell
          b_.put('"');
          value(f, e);
          break;
        case Dirt::null_value:
          if (!csv_) b_.put("null");
          break;
        default:
          if (m.quote && !csv_) b_.put('"');
          b_.put(m.text);
          if (m.quote && !csv_) b_.put('"');
      }
    }
    if (m.kind == Dirt::unknown_field) {
      b_.put(',');
      b_.put(m.text);
    }
    if (!csv_ && m.kind != Dirt::unbalanced) b_.put('}');
    if (m.kind == Dirt::truncated) {
      size_t keep = static_cast<size_t>(m.cut * static_cast<double>(b_.size()));
      b_.resize(std::clamp<size_t>(keep, 1, b_.size() - 1));
    }
    out.assign(b_.view());
  }

 private:
  // "\"timestamp\":" and so on, built once.
  static inline const std::array<std::string, kFieldCount> kFieldKey = [] {
    std::array<std::string, kFieldCount> keys;
    for (int f = 0; f < kFieldCount; ++f) {
      keys[f].append(1, '"').append(kFieldName[f]).append("\":");
    }
    return keys;
  }();

  void value(int f, const Event& e) {
    const bool q = !csv_ && is_string_field(f);
    if (q) b_.put('"');
    switch (f) {
      case kTimestamp:
        timestamp(start_ms_ + static_cast<int64_t>(std::floor(e.t * 1000)));
        break;
      case kClientIp:
        for (int shift = 24; shift >= 0; shift -= 8) {
          b_.put_uint((e.ip >> shift) & 0xff);
          if (shift) b_.put('.');
        }
        break;
      case kAsn:
        b_.put_uint(e.asn);
        break;
      case kCountry:
        b_.put(std::string_view(kNetworks[e.net].country, 2));
        break;
      case kPopField:
        b_.put(std::string_view(kPops[e.pop].code, 4));
        break;
      case kDevice:
        b_.put(kDeviceName[e.device]);
        break;
      case kContentType:
        b_.put(kContentName[e.content]);
        break;
      case kHttpStatus:
        b_.put_uint(e.status);
        break;
      case kCacheStatus:
        b_.put(kCacheName[e.cache]);
        break;
      case kBytesSent:
        b_.put_uint(e.bytes);
        break;
      case kResponseTime:
        b_.put_fixed1(e.response_ms);
        break;
      case kTtfb:
        b_.put_fixed1(e.ttfb_ms);
        break;
      case kRtt:
        b_.put_fixed1(e.rtt_ms);
        break;
      case kThroughput:
        b_.put_uint(static_cast<uint64_t>(e.throughput_kbps + 0.5));
        break;
      case kBitrate:
        b_.put_uint(e.bitrate_kbps);
        break;
      case kQoeBad:
        b_.put(static_cast<char>('0' + e.qoe_bad));
        break;
      default:
        break;
    }
    if (q) b_.put('"');
  }

  // "2026-11-22T10:15:30.123Z"; the date part is cached per day.
  void timestamp(int64_t ms) {
    int64_t day = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    if (day != day_) {
      day_ = day;
      std::string d = record::format_rfc3339_ms(record::Instant{day * 86400, 0});
      date_.assign(d, 0, 11);  // "2026-11-22T"
    }
    int64_t rem = ms - day * 86400000;
    int secs = static_cast<int>(rem / 1000);
    int milli = static_cast<int>(rem % 1000);
    b_.put(date_);
    b_.put2(secs / 3600);
    b_.put(':');
    b_.put2(secs / 60 % 60);
    b_.put(':');
    b_.put2(secs % 60);
    b_.put('.');
    b_.put(static_cast<char>('0' + milli / 100));
    b_.put2(milli % 100);
    b_.put('Z');
  }

  bool csv_;
  bool label_;
  int64_t start_ms_;
  int64_t day_ = INT64_MIN;
  std::string date_;
  Buf b_;
};

// A held-back record and when it is let out.
struct Held {
  double release;
  uint64_t seq;
  Event event;
};
struct ReleasesLater {
  bool operator()(const Held& a, const Held& b) const {
    return a.release != b.release ? a.release > b.release : a.seq > b.seq;
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------

struct Generator::Impl {
  explicit Impl(const Options& o)
      : opts(o),
        world(o.seed, o.start_ms, o.rate),
        writer(o.format, o.label, o.start_ms),
        late_rng(stream_seed(o.seed, kLate)),
        dirty_rng(stream_seed(o.seed, kDirty)) {}

  Mutation draw_mutation() {
    Mutation m;
    if (opts.dirty <= 0 || !dirty_rng.chance(opts.dirty)) return m;
    const bool csv = opts.format == Format::csv;
    const int fields = writer.fields();
    m.kind = static_cast<Dirt>(1 + dirty_rng.below(kDirtKinds));
    auto take = [&](const auto& list) -> const Override& {
      const Override& o = list[dirty_rng.below(static_cast<uint32_t>(std::size(list)))];
      // Without the label an out-of-range qoe_bad would be an unknown field instead.
      return o.field < fields ? o : list[0];
    };
    switch (m.kind) {
      case Dirt::truncated:
        m.cut = dirty_rng.uniform(0.1, 0.9);
        break;
      case Dirt::unbalanced:
        if (csv) m.field = static_cast<int>(dirty_rng.below(static_cast<uint32_t>(fields)));
        break;
      case Dirt::not_a_record:
        m.text = kNotARecord[dirty_rng.below(std::size(kNotARecord))];
        break;
      case Dirt::number_as_string:
        m.field = kNumberFields[dirty_rng.below(std::size(kNumberFields))];
        break;
      case Dirt::missing_field:
      case Dirt::null_value:
        m.field = static_cast<int>(dirty_rng.below(kFieldCount - 1));
        break;
      case Dirt::unknown_field: {
        uint32_t i = dirty_rng.below(std::size(kUnknownField));
        m.text = csv ? kUnknownCell[i] : kUnknownField[i];
        break;
      }
      case Dirt::out_of_range:
        apply(m, take(kOutOfRange));
        break;
      case Dirt::bad_enum:
        apply(m, take(kBadEnum));
        break;
      case Dirt::bad_timestamp:
        apply(m, take(kBadTimestamp));
        break;
      case Dirt::none:
        break;
    }
    ++stats.dirty;
    return m;
  }

  static void apply(Mutation& m, const Override& o) {
    m.field = o.field;
    m.text = o.text;
    m.quote = o.quote;
  }

  void write(std::string& line, const Event& e) {
    if (e.qoe_bad) ++stats.qoe_bad;
    if (e.incident > 0) ++stats.in_incident;
    writer.write(line, e, draw_mutation());
  }

  Options opts;
  World world;
  LineWriter writer;
  Rng late_rng;
  Rng dirty_rng;
  std::priority_queue<Held, std::vector<Held>, ReleasesLater> held;
  Event pending;
  bool has_pending = false;
  uint64_t generated = 0, emitted = 0, seq = 0;
  Stats stats;
};

Generator::Generator(const Options& opts) : impl_(std::make_unique<Impl>(opts)) {}
Generator::~Generator() = default;

const Stats& Generator::stats() const {
  return impl_->stats;
}

bool Generator::next(std::string& line) {
  Impl& g = *impl_;
  if (g.emitted >= g.opts.rows) return false;
  // Generate in event-time order; a late record waits 1-30 s of event time before it goes out.
  while (!g.has_pending && g.generated < g.opts.rows) {
    g.world.next(g.pending);
    ++g.generated;
    if (g.opts.late > 0 && g.late_rng.chance(g.opts.late)) {
      g.held.push(Held{g.pending.t + g.late_rng.uniform(1, 30), g.seq++, g.pending});
      ++g.stats.late;
      continue;
    }
    g.has_pending = true;
  }
  if (!g.held.empty() && (!g.has_pending || g.held.top().release <= g.pending.t)) {
    Event e = g.held.top().event;
    g.held.pop();
    g.write(line, e);
  } else {
    g.has_pending = false;
    g.write(line, g.pending);
  }
  ++g.emitted;
  return true;
}

std::string Generator::csv_header(bool label) {
  std::string h;
  int n = label ? kFieldCount : kFieldCount - 1;
  for (int f = 0; f < n; ++f) {
    if (f) h += ',';
    h.append(kFieldName[f]);
  }
  return h;
}

}  // namespace cdn::gen
