#include "common/record/counts.hpp"

#include "common/base/json_text.hpp"

namespace cdn::record {

void Rejects::reject(std::string_view source, uint64_t line, std::string_view reason,
                     std::string_view raw) {
  reject(source, line, reason, raw, {});
}

namespace {
// `text` as it may stand in JSON text: as it is when it is UTF-8, else with U+FFFD for each
// byte that is not (`tmp` holds that copy).
std::string_view utf8(std::string_view text, std::string& tmp) {
  if (base::invalid_utf8_at(text) == std::string_view::npos) return text;
  tmp.clear();
  base::append_utf8_replacing(tmp, text);
  return tmp;
}
}  // namespace

void Rejects::reject(std::string_view source, uint64_t line, std::string_view reason,
                     std::string_view raw, std::string_view members,
                     std::optional<std::string_view> key) {
  // A reject line is JSON text, so UTF-8 whatever it quotes: a record that is not UTF-8 is
  // written with U+FFFD for each bad byte, and its exact bytes follow in record_base64.
  std::string& s = scratch_;
  std::string& tmp = tmp_;
  s.clear();
  s += "{\"command\":";
  base::append_json_string(s, utf8(command_, tmp));
  s += ",\"source\":";
  base::append_json_string(s, utf8(source, tmp));
  s += ",\"line\":";
  base::append_uint(s, line);
  s += ",\"reason\":";
  base::append_json_string(s, utf8(reason, tmp));
  s += ",\"record\":";
  std::string_view record = utf8(raw, tmp);
  base::append_json_string(s, record);
  if (record.data() != raw.data()) {
    s += ",\"record_base64\":\"";
    base::append_base64(s, raw);
    s += '"';
  }
  s += utf8(members, tmp);
  s += '}';
  if (key && sink_->takes_keys()) {
    sink_->write_keyed(s, key);
  } else {
    sink_->write_line(s);
  }
  ++counts_.rejected;
  if (by_reason_) by_reason_->add(diag::reason_label(reason));
}

}  // namespace cdn::record
