#include "common/record/counts.hpp"

#include "common/base/json_text.hpp"

namespace cdn::record {

void Rejects::reject(std::string_view source, uint64_t line, std::string_view reason,
                     std::string_view raw) {
  reject(source, line, reason, raw, {});
}

void Rejects::reject(std::string_view source, uint64_t line, std::string_view reason,
                     std::string_view raw, std::string_view members) {
  std::string& s = scratch_;
  s.clear();
  s += "{\"command\":";
  base::append_json_string(s, command_);
  s += ",\"source\":";
  base::append_json_string(s, source);
  s += ",\"line\":";
  base::append_uint(s, line);
  s += ",\"reason\":";
  base::append_json_string(s, reason);
  s += ",\"record\":";
  base::append_json_string(s, raw);
  s += members;
  s += '}';
  sink_->write_line(s);
  ++counts_.rejected;
}

}  // namespace cdn::record
