// cdn tag: attach a sample ID to every record (a sequence, UUIDv7 or a content hash),
// editing each line in place: the rest of the line is kept byte for byte.
#include <simdjson.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <optional>

#include "cmd/commands.hpp"
#include "common/cli/options.hpp"
#include "common/cli/service.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/endpoint/endpoint.hpp"
#include "common/record/fields.hpp"
#include "common/record/ids.hpp"
#include "common/record/json_syntax.hpp"
#include "common/record/message_key.hpp"

namespace cdn::cmd {

namespace {
struct TagArgs {
  cli::IoOptions io;
  cli::ServiceOptions service;
  std::string field = "sampleID";
  std::string mode = "seq";
  uint64_t start = 1;
  std::string prefix;
  std::vector<std::string> hash_fields;
  std::string state;
  bool overwrite = false;
  std::string key_field;
  bool start_given = false;  // set from the parsed options
};

void check_args(const TagArgs& a) {
  if (a.field.empty()) throw UsageError("--id-field is empty; name the field that gets the ID");
  for (unsigned char c : a.field) {
    if (c < 0x20 || c == '"' || c == '\\') {
      throw UsageError("--id-field " + diag::quoted(a.field) +
                       " holds a quote, a backslash or a control character; choose a plain "
                       "field name");
    }
  }
  if (a.mode != "seq" && a.start_given) {
    throw UsageError("--start applies to --mode seq only; drop it or use --mode seq");
  }
  if (a.mode != "seq" && !a.state.empty()) {
    throw UsageError("--state applies to --mode seq only; drop it or use --mode seq");
  }
  if (a.mode != "hash" && !a.hash_fields.empty()) {
    throw UsageError("--hash-fields applies to --mode hash only; drop it or use --mode hash");
  }
  for (const auto& f : a.hash_fields) {
    if (f.empty()) {
      throw UsageError(
          "--hash-fields holds an empty field name; list names separated by "
          "commas, e.g. --hash-fields timestamp,client_ip");
    }
  }
}

int run_tag(const TagArgs& a) {
  // --metrics-addr: up before the setup, so /readyz says "starting" meanwhile.
  auto server = cli::start_service(a.service, "tag");
  check_args(a);
  std::optional<record::SequenceState> state;
  uint64_t first = a.start;
  if (!a.state.empty()) {
    state.emplace(a.state);
    if (state->next()) {
      first = *state->next();
      if (a.start_given) {
        diag::info("continuing from " + std::to_string(first) + " as the state file " +
                   diag::quoted(a.state) + " says; --start is ignored");
      }
    }
  }

  pipeline::RunContext ctx("tag", cli::open_output(a.io), endpoint::open_rejects(a.io.rejects));
  cli::Inputs inputs(a.io, ctx);
  inputs.records().field_watch().expect("--hash-fields", a.hash_fields);
  // --key-field names the ID field: the key is the ID written, which no input record has.
  const record::KeyField key_field(a.key_field);
  const bool key_is_id = !key_field.empty() && key_field.path().front() == a.field;
  if (!key_is_id) inputs.records().field_watch().expect("--key-field", {a.key_field}, true);
  record::IdOptions opts;
  opts.mode = a.mode == "uuid"   ? record::IdMode::uuid
              : a.mode == "hash" ? record::IdMode::hash
                                 : record::IdMode::seq;
  opts.start = first;
  opts.prefix = a.prefix;
  opts.hash_fields = a.hash_fields;
  record::IdWriter ids(std::move(opts));
  record::IdSplicer splicer(a.field);

  // Numbers are reserved in the state file before they go out, so that a run killed on the
  // way (kill -9, a crash) never lets a later run hand them out again; the reserved numbers
  // it did not use are skipped. Reservations grow from 1,024 numbers to 1,048,576.
  uint64_t reserved = first, block = 1024;
  auto reserve = [&] {
    if (!state || ids.next() < reserved) return;
    reserved = ids.next() + std::min(block, std::numeric_limits<uint64_t>::max() - ids.next());
    state->save(reserved);
    block = std::min<uint64_t>(block * 2, uint64_t{1} << 20);
  };

  uint64_t tagged = 0, kept = 0;
  std::string line, reason;
  try {
    simdjson::dom::parser parser, key_parser;
    record::Record rec;
    auto& in = inputs.records();
    std::string key_buf;
    std::optional<std::string_view> key;  // of the record at hand: --key-field's, or its own
    // The record at hand to the rejects, with its key.
    auto reject = [&](const std::string& why) {
      ctx.rejects().reject(in.name(), rec.line, why, rec.text, {}, key);
    };
    while (in.next(rec)) {
      std::string_view text = rec.text;
      key = rec.key;
      simdjson::dom::element root;
      if (auto err = parser.parse(text.data(), text.size(), false).get(root)) {
        reject(record::invalid_json_reason(text, simdjson::error_message(err)));
        continue;
      }
      simdjson::dom::object obj;
      if (root.get_object().get(obj)) {
        reject(std::string("not a JSON object but ") + record::json_type_name(root.type()));
        continue;
      }
      if (!key_field.empty()) key = record::KeyField::chosen(key_field.of(root, key_buf), rec.key);
      bool has = obj.at_key(a.field).error() == simdjson::SUCCESS;
      if (has && !a.overwrite) {
        ++kept;
        ctx.emit(text, key);
        continue;
      }
      line.clear();
      auto tail = splicer.head(text, has, line);
      if (!tail) {
        reject("the field " + diag::quoted(a.field) +
               " is written with escapes, so it cannot be replaced in place");
        continue;
      }
      reserve();
      if (!ids.append(text, line, reason)) {
        reject(reason);
        continue;
      }
      line.append(text.substr(*tail));
      ++tagged;
      if (key_is_id) {
        key = record::KeyField::chosen(key_field.of_text(line, key_buf, key_parser), rec.key);
      }
      ctx.emit(line, key);
    }
  } catch (...) {
    // IDs may have gone out already: record them so that no later run hands them out again.
    if (state && ids.next() != first) {
      try {
        state->save(ids.next());
      } catch (const std::exception& e) {
        diag::error(e.what());
      }
    }
    throw;
  }
  if (state) state->save(ids.next());

  std::string extra = std::to_string(tagged) + " tagged";
  if (a.mode == "seq" && tagged > 0) {
    extra += " (" + std::to_string(first) + " to " + std::to_string(ids.next() - 1) + ")";
  }
  if (kept > 0) extra += ", " + std::to_string(kept) + " kept their " + diag::quoted(a.field);
  return ctx.finish(extra);
}
}  // namespace

Runner setup_tag(CLI::App& app) {
  auto a = std::make_shared<TagArgs>();
  cli::add_input_options(app, a->io);
  cli::add_output_options(app, a->io);
  app.add_option("--id-field", a->field, "Field that gets the ID")
      ->type_name("FIELD")
      ->capture_default_str();
  cli::deprecated(app.add_option("--field", a->field), "--id-field");
  app.add_option("--mode", a->mode,
                 "Kind of ID: seq (a sequence of integers), uuid (UUIDv7, time-ordered) or hash "
                 "(16 hex digits of a hash of the record: a re-run gives the same IDs, and "
                 "identical records get identical IDs)")
      ->type_name("MODE")
      ->check(CLI::IsMember({"seq", "uuid", "hash"}))
      ->capture_default_str();
  CLI::Option* start =
      cli::add_whole_number(app, "--start", a->start, "First number of the sequence (--mode seq)",
                            0, std::numeric_limits<uint64_t>::max() - 1)
          ->type_name("N")
          ->capture_default_str();
  app.add_option("--prefix", a->prefix,
                 "Write IDs as strings that begin with STR, e.g. --prefix s- gives \"s-1\"")
      ->type_name("STR");
  app.add_option("--hash-fields", a->hash_fields,
                 "Hash these fields' values instead of the whole record (--mode hash); "
                 "records without one are rejected")
      ->type_name("FIELDS")
      ->allow_extra_args(false);
  app.add_option("--state", a->state,
                 "Keep the sequence in FILE across runs, so IDs never repeat: it is read at "
                 "the start (and then wins over --start), reserves numbers before they go "
                 "out (a killed run skips the rest) and is written at the end; concurrent "
                 "runs take turns (--mode seq)")
      ->type_name("FILE");
  app.add_flag("--overwrite", a->overwrite,
               "Replace the ID of records that already have the field (default: keep it)");
  cli::add_key_field_option(app, a->key_field,
                            "each record (its new ID when FIELD is --id-field) is its");
  cli::add_service_options(app, a->service);
  cli::add_examples(app, {"cdn tag sorted.ndjson -o tagged.ndjson",
                          "cdn tag --mode uuid --id-field id day1.ndjson"});
  return [a, start] {
    a->start_given = start->count() > 0;
    // "a,b" and "--hash-fields a --hash-fields b" both list a and b; split by hand so that
    // an empty name (",", "a,,b") is reported rather than dropped.
    std::vector<std::string> names;
    for (const auto& list : a->hash_fields) {
      size_t begin = 0;
      for (size_t comma; (comma = list.find(',', begin)) != std::string::npos; begin = comma + 1) {
        names.push_back(list.substr(begin, comma - begin));
      }
      names.push_back(list.substr(begin));
    }
    a->hash_fields = std::move(names);
    return run_tag(*a);
  };
}

}  // namespace cdn::cmd
