// What `cdn consume` makes of Kafka messages: each one a line (the payload as it is, or with
// --envelope an object that also carries the message's topic, partition, offset, timestamp,
// key and headers, with what is not UTF-8 in base64 and marked so), or a reason to reject
// it; and the timing of its offset commits, which come only once the lines are written.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/kafka/consumer.hpp"

namespace cdn::kafka {

// Builds the --envelope line of a message.
class Envelope {
 public:
  const std::string& line(const rd_kafka_message_t* m);

 private:
  // The payload as JSON when it parses (made one line if it spans several), else a string,
  // or base64 with "payload_encoding":"base64" after it when it is not UTF-8.
  void append_payload(const rd_kafka_message_t* m);
  // `bytes` as a JSON string; in base64 when they are not UTF-8 (then true).
  static bool append_text(std::string& out, std::string_view bytes);

  std::string line_;
  std::string encodings_;  // "headers_encoding": the headers written in base64
  std::string padded_;
  simdjson::dom::parser parser_;
};

// One message as a line, or as a reject.
struct MessageLine {
  std::string_view text;                // the line; for a reject, the payload
  std::string reason;                   // empty for a line, else why it is rejected
  std::string source;                   // a reject's source: kafka:TOPIC/PARTITION
  uint64_t offset = 0;                  // a reject's offset
  std::optional<std::string_view> key;  // the message's key, if it has one
};

// Reads a consumer's messages as lines. Without the envelope a message without a payload
// (a tombstone) or with a payload of several lines is rejected.
class MessageLines {
 public:
  MessageLines(Consumer& consumer, bool envelope) : consumer_(consumer), envelope_(envelope) {}
  // The next message; false once the consumer has no more (see Consumer::next). The line
  // stays valid until the next call.
  bool next(MessageLine& out);

 private:
  Consumer& consumer_;
  bool envelope_;
  Envelope builder_;
};

// Commits a consumer's offsets only once the lines read are written. `flush` writes out what
// was read so far (the output and the rejects). While `streaming` (the lines go straight out;
// a file renamed into place at the end holds them back), the offsets are committed on the
// way, about once a second: when the consumer goes idle, and every 1024 messages; otherwise
// only at finish().
class CommitAfterWrite {
 public:
  CommitAfterWrite(Consumer& consumer, bool streaming, std::function<void()> flush);
  // After each message, with the count read so far.
  void read(uint64_t count);
  // Everything read is written and its output committed: commits, waiting for the broker.
  void finish();

 private:
  // The offsets of what was read, written by now, committed without waiting.
  void commit_written();

  Consumer& consumer_;
  bool streaming_;
  std::function<void()> flush_;
};

}  // namespace cdn::kafka
