// The SVG charts of cdn train's report (common/model/report.cpp): escaping and number text,
// axes with round ticks sized to their labels, series and the chart that lays them out.
// Internal to the report; everything here is inline.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "common/model/report.hpp"

namespace cdn::model::report_chart {

inline const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
constexpr double kTick = 12;    // tick label font size (viewBox units)
constexpr double kTitle = 13;   // axis title font size
constexpr double kLegend = 13;  // legend font size
// Widths of text, estimated a little above DejaVu Sans and Liberation Sans (digits 0.636 em).
constexpr double kDigitEm = 0.66, kLetterEm = 0.64;

inline std::string esc(std::string_view s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

inline std::string fmt(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

inline std::string fixed(double v, int decimals) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  std::string s = b;
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);  // no -0
  return s;
}

inline std::string px(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

inline std::string pct(double part, double whole) {
  return whole > 0 ? fixed(100 * part / whole, 1) + "%" : "–";
}

inline double text_width(const std::string& s, double size) {
  double w = 0;
  for (unsigned char c : s) {
    if (c >= 0x80 && c < 0xc0) continue;  // UTF-8 continuation byte
    w += (std::isdigit(c) || c == '-' || c == '+') ? kDigitEm
         : (c == '.' || c == ' ')                  ? 0.35
                                                   : kLetterEm;
  }
  return w * size;
}

struct Axis {
  double lo, hi;  // data range shown
  Ticks ticks;
  double a = 0, b = 0;  // pixels of lo and hi
  double operator()(double v) const { return a + (v - lo) / (hi - lo) * (b - a); }
  std::string label(double v) const { return fixed(v, ticks.decimals); }
  double label_width() const {
    double w = 0;
    for (double v : ticks.values) w = std::max(w, text_width(label(v), kTick));
    return w;
  }
};

// An axis over lo..hi with round ticks no closer than `min_gap` pixels over `length` pixels.
// `floor0`: the quantity cannot be negative, so the axis does not go below 0; `cap1`: nor
// above 1. `integer`: the step is at least 1 (rounds).
Axis make_axis(double lo, double hi, double length, double min_gap, bool floor0, bool cap1,
               bool integer) {
  if (!(hi > lo)) {
    double d = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  if (floor0) lo = std::max(lo, 0.0);
  if (cap1) hi = std::min(hi, 1.0);
  Axis ax{lo, hi, {}};
  for (int target = 10; target >= 1; --target) {
    ax.ticks = nice_ticks(lo, hi, target);
    if (integer && ax.ticks.step < 1) ax.ticks = nice_ticks(lo, hi, static_cast<int>(hi - lo));
    double n = static_cast<double>(ax.ticks.values.size());
    if (n < 2 || length / (n - 1) >= min_gap) break;
  }
  ax.lo = ax.ticks.values.front();
  ax.hi = ax.ticks.values.back();
  if (floor0 && ax.lo < 0) ax.lo = 0;
  if (cap1 && ax.hi > 1) ax.hi = 1;
  std::erase_if(ax.ticks.values, [&](double v) { return v < ax.lo - 1e-12 || v > ax.hi + 1e-12; });
  return ax;
}

struct Series {
  std::string name, color;
  bool dashed = false;
};

// A chart: an svg element sized by its viewBox, the data ranges as attributes (a reader maps
// plotted points back to values with them), grid, axes, round tick labels, axis titles, and a
// legend in a band above the plot area.
class Chart {
 public:
  Chart(std::string id, double width, double height) : id_(std::move(id)), w_(width), h_(height) {}

  // Lays out the plot area: call with the data ranges, then draw.
  void layout(double xlo, double xhi, double ylo, double yhi, const std::vector<Series>& legend,
              bool x_floor0 = false, bool y_floor0 = false, bool y_cap1 = false,
              bool x_integer = false, bool x_cap1 = false) {
    legend_ = legend;
    double top = 16 + legend_rows() * 24.0;
    double bottom = h_ - 50;
    y_ = make_axis(ylo, yhi, bottom - top, 24, y_floor0, y_cap1, false);
    y_.a = bottom;
    y_.b = top;
    left_ = 36 + y_.label_width();
    // x tick labels are centred on their ticks: leave room for half of the last one.
    Axis probe = make_axis(xlo, xhi, w_ - left_ - 40, 1, x_floor0, x_cap1, x_integer);
    double xw = probe.label_width();
    right_ = w_ - std::max(16.0, xw / 2 + 6);
    x_ = make_axis(xlo, xhi, right_ - left_, xw + 16, x_floor0, x_cap1, x_integer);
    x_.a = left_;
    x_.b = right_;
  }

  const Axis& x() const { return x_; }
  const Axis& y() const { return y_; }
  double left() const { return left_; }
  double right() const { return right_; }
  double top() const { return y_.b; }
  double bottom() const { return y_.a; }

  std::string open(const std::string& xlabel, const std::string& ylabel) const {
    std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-chart=\"" +
                    esc(id_) + "\" viewBox=\"0 0 " + px(w_) + " " + px(h_) +
                    "\" width=\"100%\" preserveAspectRatio=\"xMidYMid meet\" role=\"img\"" +
                    " data-x-min=\"" + fmt(x_.lo) + "\" data-x-max=\"" + fmt(x_.hi) +
                    "\" data-y-min=\"" + fmt(y_.lo) + "\" data-y-max=\"" + fmt(y_.hi) +
                    "\" data-x0=\"" + px(x_.a) + "\" data-x1=\"" + px(x_.b) + "\" data-y0=\"" +
                    px(y_.a) + "\" data-y1=\"" + px(y_.b) + "\">\n";
    s += "<rect x=\"0\" y=\"0\" width=\"" + px(w_) + "\" height=\"" + px(h_) +
         "\" fill=\"#fff\"/>\n";
    for (double v : y_.ticks.values) {
      s += "<line class=\"gridline\" x1=\"" + px(left_) + "\" y1=\"" + px(y_(v)) + "\" x2=\"" +
           px(right_) + "\" y2=\"" + px(y_(v)) + "\"/>";
      s += "<text class=\"tick y\" x=\"" + px(left_ - 8) + "\" y=\"" + px(y_(v) + kTick * 0.35) +
           "\" text-anchor=\"end\">" + y_.label(v) + "</text>\n";
    }
    for (double v : x_.ticks.values) {
      s += "<line class=\"axis\" x1=\"" + px(x_(v)) + "\" y1=\"" + px(bottom()) + "\" x2=\"" +
           px(x_(v)) + "\" y2=\"" + px(bottom() + 5) + "\"/>";
      s += "<text class=\"tick x\" x=\"" + px(x_(v)) + "\" y=\"" + px(bottom() + 22) +
           "\" text-anchor=\"middle\">" + x_.label(v) + "</text>\n";
    }
    s += "<line class=\"axis\" x1=\"" + px(left_) + "\" y1=\"" + px(bottom()) + "\" x2=\"" +
         px(right_) + "\" y2=\"" + px(bottom()) + "\"/>\n";
    s += "<line class=\"axis\" x1=\"" + px(left_) + "\" y1=\"" + px(top()) + "\" x2=\"" +
         px(left_) + "\" y2=\"" + px(bottom()) + "\"/>\n";
    s += "<text class=\"axis-title x\" x=\"" + px((left_ + right_) / 2) + "\" y=\"" + px(h_ - 8) +
         "\" text-anchor=\"middle\">" + esc(xlabel) + "</text>\n";
    double ty = (top() + bottom()) / 2, tx = 8 + kTitle * 0.8;
    s += "<text class=\"axis-title y\" x=\"" + px(tx) + "\" y=\"" + px(ty) +
         "\" text-anchor=\"middle\" transform=\"rotate(-90 " + px(tx) + " " + px(ty) + ")\">" +
         esc(ylabel) + "</text>\n";
    s += legend_svg();
    return s;
  }

  std::string polyline(const std::string& series, const std::vector<std::pair<double, double>>& pts,
                       const std::string& color, bool dashed = false, double width = 2) const {
    std::string s = "<polyline data-series=\"" + esc(series) + "\" fill=\"none\" stroke=\"" +
                    color + "\" stroke-width=\"" + fmt(width) + "\"" +
                    (dashed ? " stroke-dasharray=\"6 4\"" : "") + " points=\"";
    for (size_t i = 0; i < pts.size(); ++i) {
      if (i) s += ' ';
      s += px(x_(pts[i].first)) + "," + px(y_(pts[i].second));
    }
    return s + "\"/>\n";
  }

  // A labelled reference line across the plot area: vertical at x = v, or horizontal at y = v.
  std::string reference(const std::string& series, bool vertical, double v,
                        const std::string& label) const {
    std::string s;
    double lw = text_width(label, kTick);
    if (vertical) {
      double xx = x_(v);
      s += "<line data-series=\"" + esc(series) + "\" class=\"ref\" x1=\"" + px(xx) + "\" y1=\"" +
           px(top()) + "\" x2=\"" + px(xx) + "\" y2=\"" + px(bottom()) + "\"/>\n";
      bool right_side = xx + 6 + lw < right_;
      double tx = right_side ? xx + 5 : xx - 5;
      double rx = right_side ? tx - 2 : tx - lw - 2;
      s += "<rect class=\"label-bg\" x=\"" + px(rx) + "\" y=\"" + px(top() + 4) + "\" width=\"" +
           px(lw + 4) + "\" height=\"" + px(kTick * 1.3) + "\"/>";
      s += "<text class=\"ref-label\" x=\"" + px(tx) + "\" y=\"" + px(top() + 4 + kTick) +
           "\" text-anchor=\"" + (right_side ? "start" : "end") + "\">" + esc(label) + "</text>\n";
    } else {
      double yy = y_(v);
      s += "<line data-series=\"" + esc(series) + "\" class=\"ref\" x1=\"" + px(left_) +
           "\" y1=\"" + px(yy) + "\" x2=\"" + px(right_) + "\" y2=\"" + px(yy) + "\"/>\n";
      double tx = right_ - 4;
      bool above = yy - kTick * 1.4 > top();
      double ty = above ? yy - 4 : yy + kTick + 2;
      s += "<rect class=\"label-bg\" x=\"" + px(tx - lw - 2) + "\" y=\"" + px(ty - kTick) +
           "\" width=\"" + px(lw + 4) + "\" height=\"" + px(kTick * 1.3) + "\"/>";
      s += "<text class=\"ref-label\" x=\"" + px(tx) + "\" y=\"" + px(ty) +
           "\" text-anchor=\"end\">" + esc(label) + "</text>\n";
    }
    return s;
  }

 private:
  // The legend flows left to right in rows above the plot area.
  std::vector<std::pair<double, int>> legend_places() const {
    std::vector<std::pair<double, int>> out;
    double x = 12;
    int row = 0;
    for (const auto& sr : legend_) {
      double w = 26 + text_width(sr.name, kLegend) + 18;
      if (x + w > w_ - 8 && x > 12) {
        x = 12;
        ++row;
      }
      out.emplace_back(x, row);
      x += w;
    }
    return out;
  }
  int legend_rows() const {
    auto p = legend_places();
    return p.empty() ? 0 : p.back().second + 1;
  }
  std::string legend_svg() const {
    std::string s;
    auto places = legend_places();
    for (size_t i = 0; i < legend_.size(); ++i) {
      double x = places[i].first, y = 12 + 24.0 * places[i].second + 10;
      s += "<line x1=\"" + px(x) + "\" y1=\"" + px(y) + "\" x2=\"" + px(x + 20) + "\" y2=\"" +
           px(y) + "\" stroke=\"" + legend_[i].color + "\" stroke-width=\"3\"" +
           (legend_[i].dashed ? " stroke-dasharray=\"5 3\"" : "") + "/>";
      s += "<text class=\"legend\" x=\"" + px(x + 26) + "\" y=\"" + px(y + kLegend * 0.35) + "\">" +
           esc(legend_[i].name) + "</text>\n";
    }
    return s;
  }

  std::string id_;
  double w_, h_;
  Axis x_{0, 1, {}}, y_{0, 1, {}};
  double left_ = 0, right_ = 0;
  std::vector<Series> legend_;
};

std::string figure(const std::string& caption, const std::string& svg,
                   const std::string& note = "") {
  std::string s = "<figure><figcaption>" + esc(caption) + "</figcaption>\n" + svg + "</svg>\n";
  if (!note.empty()) s += "<p class=\"note\">" + esc(note) + "</p>\n";
  return s + "</figure>\n";
}

// Metrics that cannot be negative, and those that cannot exceed 1.

}  // namespace cdn::model::report_chart
