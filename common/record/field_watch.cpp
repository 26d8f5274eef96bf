#include "common/record/field_watch.hpp"

#include <simdjson.h>

#include "common/base/nearest.hpp"
#include "common/diag/log.hpp"
#include "common/record/fields.hpp"

namespace cdn::record {

namespace {
constexpr size_t kMaxFields = 500;   // names remembered for the listing and the hint
constexpr size_t kShownFields = 30;  // names listed in the warning
constexpr int kMaxDepth = 4;         // nesting followed for dotted paths
}  // namespace

struct FieldWatch::Parser {
  simdjson::dom::parser dom;
};

FieldWatch::FieldWatch() : parser_(std::make_unique<Parser>()) {}
FieldWatch::~FieldWatch() = default;

void FieldWatch::expect(std::string_view option, const std::vector<std::string>& names,
                        bool paths) {
  for (const auto& n : names) {
    if (n.empty()) continue;
    Name e{std::string(option), n, {}, false};
    if (paths) {
      e.path = split_path(n);
      if (e.path.size() > 1) paths_ = true;
    }
    expected_.push_back(std::move(e));
  }
}

void FieldWatch::see(std::string_view text) {
  if (!watching()) return;
  simdjson::dom::element root;
  simdjson::dom::object obj;
  // Copied into the parser's padded buffer: the text may be a view into a chunk.
  if (parser_->dom.parse(text.data(), text.size(), true).get(root) || root.get_object().get(obj))
    return;
  if (records_++ == 0) first_ = std::chrono::steady_clock::now();
  // The fields, as paths when a name is one: "a", "a.b", ...
  auto note = [this](std::string name) {
    if (fields_.size() < kMaxFields && known_.insert(name).second)
      fields_.push_back(std::move(name));
  };
  auto walk = [&](auto& self, simdjson::dom::object o, const std::string& prefix,
                  int depth) -> void {
    for (auto member : o) {
      std::string name = prefix + std::string(member.key);
      note(name);
      simdjson::dom::object inner;
      if (paths_ && depth < kMaxDepth && !member.value.get_object().get(inner))
        self(self, inner, name + ".", depth + 1);
    }
  };
  walk(walk, obj, "", 1);
  for (auto& e : expected_) {
    if (e.seen) continue;
    e.seen = e.path.empty() ? obj.at_key(e.name).error() == simdjson::SUCCESS
                            : find_path(root, e.path).error() == simdjson::SUCCESS;
  }
  if (records_ >= kSample) report();
}

void FieldWatch::see_lines(std::string_view bytes, bool starts_source) {
  bool first = starts_source;
  while (!bytes.empty() && watching()) {
    size_t nl = bytes.find('\n');
    std::string_view line = bytes.substr(0, nl);
    bytes.remove_prefix(nl == std::string_view::npos ? bytes.size() : nl + 1);
    if (trim_ndjson_line(line, first)) see(line);
    first = false;
  }
}

void FieldWatch::idle() {
  if (!watching() || records_ == 0) return;
  if (std::chrono::steady_clock::now() - first_ >= std::chrono::seconds(1)) report();
}

void FieldWatch::report() {
  if (done_) return;
  done_ = true;
  if (records_ == 0) return;
  std::string names;
  size_t unseen = 0;
  for (size_t i = 0; i < expected_.size(); ++i) {
    const Name& e = expected_[i];
    if (e.seen) continue;
    if (unseen++ > 0) names += ", or ";
    names += diag::quoted(e.name) + " named by " + e.option;
    if (auto near = base::nearest(e.name, fields_))
      names += " (did you mean " + diag::quoted(*near) + "?)";
  }
  if (unseen == 0) return;
  std::string list;
  for (size_t i = 0; i < fields_.size() && i < kShownFields; ++i) {
    if (i) list += ", ";
    list += fields_[i];
  }
  if (fields_.size() > kShownFields)
    list += " and " + std::to_string(fields_.size() - kShownFields) + " more";
  std::string what = unseen > 1 ? "fields " : "field ";
  std::string head = records_ == 1 ? "the first record read has no " + what
                                   : "none of the first " + std::to_string(records_) +
                                         " records read has the " + what;
  diag::warning(head + names + "; " + (records_ == 1 ? "its" : "their") +
                " fields: " + (list.empty() ? "none" : list));
}

void WatchedSource::on_idle(std::function<void()> f) {
  in_.on_idle([this, f = std::move(f)] {
    watch_.idle();
    if (f) f();
  });
}

}  // namespace cdn::record
