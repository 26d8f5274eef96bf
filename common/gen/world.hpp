// The world `cdn gen` draws from: a fixed CDN (PoPs, the networks whose clients they serve,
// their countries and ASNs), clients drawn from the seed, a diurnal load curve, incident
// windows, and the physics of one request (cache, status, rtt, ttfb, adaptive bitrate, bytes,
// throughput) with its logistic label. docs/gen.md describes it for users.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/gen/generator.hpp"
#include "common/gen/rng.hpp"

namespace cdn::gen {

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

extern const Network kNetworks[];
inline constexpr int kPopCount = 12;
extern const Pop kPops[kPopCount];

struct Client {
  uint32_t ip;
  uint16_t net;  // index into kNetworks
  uint8_t device;
  uint8_t shown_device;  // the device written: `device` unless --shift devices changed it
  double down_kbps;      // this client's line
  double rtt_ms;         // this client's path to the PoP
  double proneness;      // unobserved: player, Wi-Fi and habits (adds to the label's logit)
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

// The seeded clients, the load and the incidents; one request's physics and its label.
class World {
 public:
  World(uint64_t seed, int64_t start_ms, double rate, const Shift& shift = {});
  void next(Event& e);

 private:
  static constexpr double kIncidentGapS = 8 * 3600;  // mean time between incidents at a PoP

  int draw_status(int content, int cache, double sev);
  // Time the server takes before the first byte: errors have their own, a hit is quick, a
  // miss waits for the origin (slower during an incident).
  double draw_server_ms(int status, int cache, double sev);
  // Body bytes: segments for video (progressive downloads as a Pareto tail), lognormal
  // images with a Pareto tail, small API bodies; error and 304 bodies are small.
  double draw_body(int status, int content, uint32_t bitrate_kbps);
  // The logit of qoe_bad before the per-request noise (docs/gen.md, "The label").
  static double logit(const Event& e, const Client& c, double link, double sev);
  Client make_client(Rng& rng, const Pop& pop);
  void draw_incident_body(Incident& inc);
  // Severity at PoP p at time t: ramps up and down over three minutes at the window's edges.
  double incident_at(int p, double t);
  // The load at each PoP follows its local hour; recomputed once a minute of event time.
  void refresh_load(double t);

  Shift shift_;
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

}  // namespace cdn::gen
