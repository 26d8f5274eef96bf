#include "common/kafka/envelope.hpp"

#include <cstring>

#include "common/base/json_text.hpp"
#include "common/io/line_reader.hpp"

namespace cdn::kafka {

const std::string& Envelope::line(const rd_kafka_message_t* m) {
  std::string& s = line_;
  s.clear();
  s += "{\"topic\":";
  base::append_json_string(s, rd_kafka_topic_name(m->rkt));
  s += ",\"partition\":";
  base::append_int(s, m->partition);
  s += ",\"offset\":";
  base::append_int(s, m->offset);
  s += ",\"timestamp\":";
  rd_kafka_timestamp_type_t type;
  int64_t ts = rd_kafka_message_timestamp(m, &type);
  if (type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE || ts < 0) {
    s += "null";
  } else {
    base::append_int(s, ts);
  }
  s += ",\"key\":";
  if (m->key == nullptr) {
    s += "null";
  } else if (append_text(s, {static_cast<const char*>(m->key), m->key_len})) {
    s += ",\"key_encoding\":\"base64\"";
  }
  s += ",\"headers\":{";
  encodings_.clear();
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == 0; ++i) {
      if (i > 0) s += ',';
      std::string_view n(name);
      std::string_view v(static_cast<const char*>(value), value == nullptr ? 0 : size);
      const char* encoding = nullptr;
      size_t at = s.size();
      bool name_bytes = base::invalid_utf8_at(n) != std::string_view::npos;
      if (name_bytes) {
        base::append_json_base64(s, n);
      } else {
        base::append_json_string(s, n);
      }
      size_t name_end = s.size();
      s += ':';
      if (value == nullptr) {
        s += "null";
      } else if (name_bytes) {
        base::append_json_base64(s, v);
      } else if (append_text(s, v)) {
        encoding = "base64";
      }
      if (name_bytes) encoding = "base64-name";  // the name and the value in base64
      if (encoding == nullptr) continue;
      encodings_ += encodings_.empty() ? '{' : ',';
      encodings_.append(s, at, name_end - at);  // the name as written
      encodings_ += ":\"";
      encodings_ += encoding;
      encodings_ += '"';
    }
  }
  s += '}';
  if (!encodings_.empty()) {
    s += ",\"headers_encoding\":";
    s += encodings_;
    s += '}';
  }
  s += ",\"payload\":";
  append_payload(m);
  s += '}';
  return s;
}

bool Envelope::append_text(std::string& out, std::string_view bytes) {
  if (base::invalid_utf8_at(bytes) == std::string_view::npos) {
    base::append_json_string(out, bytes);
    return false;
  }
  base::append_json_base64(out, bytes);
  return true;
}

void Envelope::append_payload(const rd_kafka_message_t* m) {
  if (m->payload == nullptr) {
    line_ += "null";
    return;
  }
  std::string_view text(static_cast<const char*>(m->payload), m->len);
  if (base::invalid_utf8_at(text) != std::string_view::npos) {
    base::append_json_base64(line_, text);
    line_ += ",\"payload_encoding\":\"base64\"";
    return;
  }
  padded_.assign(text);
  padded_.append(io::LineReader::kPadding, ' ');
  simdjson::dom::element root;
  if (text.empty() || parser_.parse(padded_.data(), text.size(), false).get(root)) {
    base::append_json_string(line_, text);
    return;
  }
  if (text.find_first_of("\r\n") == std::string_view::npos) {
    line_ += text;
    return;
  }
  size_t at = line_.size(), len = 0;
  line_.resize(at + text.size());
  if (simdjson::minify(text.data(), text.size(), line_.data() + at, len)) {
    line_.resize(at);
    base::append_json_string(line_, text);
    return;
  }
  line_.resize(at + len);
}

bool MessageLines::next(MessageLine& out) {
  const rd_kafka_message_t* m = consumer_.next();
  if (m == nullptr) return false;
  out.reason.clear();
  out.key = m->key ? std::optional<std::string_view>(std::in_place,
                                                     static_cast<const char*>(m->key), m->key_len)
                   : std::nullopt;
  if (envelope_) {
    out.text = builder_.line(m);
    return true;
  }
  auto reject = [&](std::string_view text, const char* reason) {
    out.text = text;
    out.reason = reason;
    out.source =
        std::string("kafka:") + rd_kafka_topic_name(m->rkt) + "/" + std::to_string(m->partition);
    out.offset = static_cast<uint64_t>(m->offset);
  };
  if (m->payload == nullptr) {
    reject("", "no payload (a tombstone); --envelope shows it");
    return true;
  }
  std::string_view text(static_cast<const char*>(m->payload), m->len);
  if (std::memchr(text.data(), '\n', text.size()) != nullptr) {
    reject(text, "the payload spans several lines; --envelope makes it one");
  } else {
    out.text = text;
  }
  return true;
}

CommitAfterWrite::CommitAfterWrite(Consumer& consumer, bool streaming, std::function<void()> flush)
    : consumer_(consumer), streaming_(streaming), flush_(std::move(flush)) {
  // When nothing new has arrived, what was read goes out at once (a live stream does not
  // wait in the buffer), and its offsets are committed now and then.
  consumer_.on_idle([this] {
    flush_();
    if (streaming_ && consumer_.commit_due()) commit_written();
  });
}

void CommitAfterWrite::read(uint64_t count) {
  if (streaming_ && (count & 1023) == 0 && consumer_.commit_due()) {
    flush_();
    commit_written();
  }
}

void CommitAfterWrite::commit_written() {
  consumer_.mark_written();
  consumer_.commit(false);
}

void CommitAfterWrite::finish() {
  consumer_.mark_written();
  consumer_.commit(true);
}

}  // namespace cdn::kafka
