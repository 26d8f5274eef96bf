// cdn: one binary, one subcommand per pipeline stage. This is the only place that turns an
// outcome into an exit status.
#include <simdjson.h>
#include <CLI/CLI.hpp>

#include <malloc.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cmd/commands.hpp"
#include "common/base/nearest.hpp"
#include "common/cli/completion.hpp"
#include "common/cli/config_toml.hpp"
#include "common/cli/options.hpp"
#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/signals.hpp"
#include "common/io/std_fds.hpp"
#ifdef CDN_WITH_KAFKA
#include "common/kafka/client.hpp"
#endif
#ifdef CDN_WITH_XGBOOST
#include "common/model/xgb.hpp"
#endif
#ifdef CDN_WITH_INFLUX
#include "common/influx/curl_api.hpp"
#endif

namespace {

// The libraries in use, with their versions: those linked report theirs; XGBoost and libcurl
// are opened when first used, so here too (or said missing); RE2's is the one built against.
#define CDN_STRING(x) #x
#define CDN_EXPANDED_STRING(x) CDN_STRING(x)
std::string libraries_text() {
  std::string v =
      "libraries: simdjson " CDN_EXPANDED_STRING(SIMDJSON_VERSION) ", RE2 " CDN_RE2_VERSION;
#ifdef CDN_WITH_KAFKA
  v += ", librdkafka " + cdn::kafka::library_version();
#endif
#ifdef CDN_WITH_XGBOOST
  try {
    v += ", XGBoost " + cdn::model::xgb::version();
  } catch (const std::exception&) {
    v += ", XGBoost (not installed: libxgboost0)";
  }
#endif
#ifdef CDN_WITH_INFLUX
  try {
    v += ", libcurl " + cdn::influx::libcurl_version();
  } catch (const std::exception&) {
    v += ", libcurl (not installed: libcurl4)";
  }
#endif
  return v;
}

std::string version_text() {
  // The first line is "cdn VERSION" alone: packaging and scripts read it.
  std::string v = "cdn " CDN_VERSION "\ncommit: " CDN_COMMIT
                  "\nparts: ndjson csv gzip json-schema(valijson, re2)";
  std::string missing;
#ifdef CDN_WITH_KAFKA
  v += " kafka";
#else
  missing += " kafka";
#endif
#ifdef CDN_WITH_XGBOOST
  v += " xgboost";
#else
  missing += " xgboost";
#endif
#ifdef CDN_WITH_INFLUX
  v += " influx";
#else
  missing += " influx";
#endif
  if (!missing.empty()) v += "\nnot built in:" + missing;
  return v + "\n" + libraries_text();
}

// " (did you mean 'X'?)" for the nearest choice, else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& choices) {
  auto n = cdn::base::nearest(word, choices);
  return n ? " (did you mean " + cdn::diag::quoted(*n) + "?)" : "";
}

// The long options of `app` ("--name"), the choices for a mistyped option.
std::vector<std::string> long_options(const CLI::App& app) {
  std::vector<std::string> out;
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_group().empty()) continue;  // an old spelling: suggest the new one
    for (const auto& n : o->get_lnames()) out.push_back("--" + n);
  }
  return out;
}

// The first argument that is not an option or an option's value: the command word.
std::optional<std::string> first_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--config" || a == "--log-format") {
      ++i;
      continue;
    }
    if (!a.empty() && a[0] != '-') return std::string(a);
  }
  return std::nullopt;
}

// The config file's reader: strict TOML (cli::parse_config_toml: a malformed file is a usage
// error naming the file and the line), at most cli::kMaxConfigBytes read, less the keys whose
// option's environment variable is set: the command line comes first, then the environment,
// then the config file, then the default, for every option alike.
class EnvironmentFirstConfig : public CLI::ConfigTOML {
 public:
  explicit EnvironmentFirstConfig(const CLI::App& root) : root_(root) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::string file = root_.get_config_ptr()->as<std::string>();
    std::string text(cdn::cli::kMaxConfigBytes + 1, '\0');
    input.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (input.bad()) {
      throw cdn::UsageError("cannot read the config file " + cdn::diag::quoted(file) + ": " +
                            cdn::errno_text(errno) +
                            "; name a readable file with --config or CDN_CONFIG");
    }
    text.resize(static_cast<size_t>(input.gcount()));
    if (text.size() > cdn::cli::kMaxConfigBytes) {
      throw cdn::UsageError("the config file " + cdn::diag::quoted(file) + " is larger than " +
                            std::to_string(cdn::cli::kMaxConfigBytes >> 20) +
                            " MiB, the most a config file may be; name a config file with --config "
                            "or CDN_CONFIG");
    }
    std::vector<CLI::ConfigItem> kept;
    for (auto& entry : cdn::cli::parse_config_toml(text, file)) {
      if (!check_names(entry, file)) continue;
      CLI::ConfigItem item;
      item.parents = std::move(entry.parents);
      item.name = std::move(entry.key);
      item.inputs = std::move(entry.values);
      if (!set_in_environment(item)) kept.push_back(std::move(item));
    }
    return kept;
  }

 private:
  // A section that names no command, or a key no option of its command has, is a usage error
  // naming the file, the line and the nearest name. False for an entry of a command this build
  // leaves out (a config file written for a full build): it is passed over.
  bool check_names(const cdn::cli::ConfigEntry& entry, const std::string& file) const {
    static const std::vector<std::string> kAllCommands = {
        "broker", "consume", "gen",    "load-influx", "predict",  "produce",
        "sort",   "tag",     "topics", "train",       "validate", "completion"};
    std::string where = "bad config file " + cdn::diag::quoted(file) + ", line " +
                        std::to_string(entry.line) + ": ";
    const CLI::App* app = &root_;
    std::string section;
    for (const auto& name : entry.parents) {
      if (name == "default" && app == &root_) continue;
      const CLI::App* sub = nullptr;
      std::vector<std::string> names;
      for (const CLI::App* c : app->get_subcommands([](const CLI::App*) { return true; })) {
        if (c->get_name() == name) sub = c;
        names.push_back(c->get_name());
      }
      if (sub == nullptr) {
        if (app == &root_ &&
            std::find(kAllCommands.begin(), kAllCommands.end(), name) != kAllCommands.end()) {
          return false;  // not built in
        }
        auto near = cdn::base::nearest(name, names);
        std::string hint = near ? " (did you mean [" + *near + "]?)" : "";
        throw cdn::UsageError(where + "unknown section [" + name + "]" + hint +
                              "; each [section] names a command");
      }
      app = sub;
      section = name;
    }
    std::string flag = (entry.key.size() == 1 ? "-" : "--") + entry.key;
    const CLI::Option* opt = app->get_option_no_throw(flag);
    if (opt == nullptr) opt = app->get_option_no_throw(entry.key);
    if (opt != nullptr) {
      // An old spelling still works, with one warning naming the new key.
      cdn::cli::note_deprecated(opt,
                                "the key " + cdn::diag::quoted(entry.key) +
                                    (section.empty() ? "" : " in [" + section + "]") +
                                    " of the config file " + cdn::diag::quoted(file) + ", line " +
                                    std::to_string(entry.line) + ",",
                                true);
      return true;
    }
    std::vector<std::string> keys;
    for (const auto& o : long_options(*app)) keys.push_back(o.substr(2));
    throw cdn::UsageError(
        where + "unknown key " + cdn::diag::quoted(entry.key) +
        (section.empty() ? "" : " in [" + section + "]") + did_you_mean(entry.key, keys) +
        "; each key is one of the long options of " +
        (section.empty() ? std::string("cdn") : "cdn " + section) + ", without its dashes");
  }

  bool set_in_environment(const CLI::ConfigItem& item) const {
    const CLI::App* app = &root_;
    for (const auto& section : item.parents) {
      if (section == "default") continue;
      const CLI::App* sub = nullptr;
      for (const CLI::App* s : app->get_subcommands([](const CLI::App*) { return true; })) {
        if (s->get_name() == section) sub = s;
      }
      if (sub == nullptr) return false;  // CLI11 reports the unknown section
      app = sub;
    }
    const CLI::Option* opt =
        app->get_option_no_throw((item.name.size() == 1 ? "-" : "--") + item.name);
    if (opt == nullptr) return false;
    const std::string& env = opt->get_envname();
    if (env.empty()) return false;
    const char* value = std::getenv(env.c_str());
    return value != nullptr && *value != '\0';
  }

  const CLI::App& root_;
};

}  // namespace

// glibc's malloc maps a block above its threshold (dynamic, at most 32 MiB) afresh and hands it
// back when freed; a reader's buffers (Kafka fetch answers, read blocks, batches) then fault in
// page by page on every use, which costs more than the copy into them on a virtual machine.
// Blocks up to 32 MiB come from the heap instead, and up to 64 MiB of free heap is kept. A
// GLIBC_TUNABLES naming malloc settings has the last word.
static void tune_allocator() {
  const char* t = std::getenv("GLIBC_TUNABLES");
  if (t != nullptr && std::string_view(t).find("glibc.malloc.") != std::string_view::npos) return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

int main(int argc, char** argv) {
  using namespace cdn;
  tune_allocator();
  // Before anything opens a file, so that none takes the number of a closed stdin, stdout or
  // stderr.
  if (!io::open_standard_fds()) {
    diag::error("cannot open '/dev/null' in place of a closed stdin, stdout or stderr: " +
                errno_text(errno) + "; start cdn with descriptors 0, 1 and 2 open");
    return kExitFailure;
  }
  CLI::App app{
      "cdn: composable commands for a streaming machine-learning pipeline over CDN "
      "telemetry. Each reads and writes NDJSON on stdin/stdout or files.",
      "cdn"};
  // A function: the libraries it names are opened only when --version is asked for.
  app.set_version_flag("--version", std::function<std::string()>(version_text),
                       "Print the version, the commit, the parts built in and the libraries");
  // CDN_CONFIG names the config file when --config is not given; a named file must exist.
  const char* env_config = std::getenv("CDN_CONFIG");
  bool has_env_config = env_config != nullptr && *env_config != '\0';
  app.set_config("--config", has_env_config ? env_config : "",
                 "Read long options from a TOML file, one [section] per command (default: "
                 "$CDN_CONFIG)",
                 has_env_config)
      ->type_name("FILE")
      ->check(cdn::cli::complete_files({"toml"}));
  app.config_formatter(std::make_shared<EnvironmentFirstConfig>(app));
  // A key in the config file that names no option is an error, in every section.
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.require_subcommand(1);
  app.fallthrough();
  app.footer(
      "Run 'cdn COMMAND --help' or 'man cdn-COMMAND' for a command's options.\n"
      "Exit status: 0 success, 1 some records rejected, 2 usage or configuration error, "
      "3 runtime failure.");

  int verbosity = 0;
  bool quiet = false;
  std::string log_format = "text";
  app.add_flag("-v,--verbose", verbosity, "More diagnostics on stderr (repeat for more)");
  app.add_flag("-q,--quiet", quiet, "Errors only: no summary line, no warnings");
  app.add_option("--log-format", log_format, "Diagnostics as text or json lines")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  std::map<std::string, cmd::Runner> runners;
  std::map<std::string, CLI::App*> subs;
  for (const auto& c : cmd::commands()) {
    CLI::App* sub = app.add_subcommand(std::string(c.name), std::string(c.summary));
    runners[std::string(c.name)] = c.setup(*sub);
    subs[std::string(c.name)] = sub;
  }

  // --log-format json is known before parsing, so that the errors parsing finds are JSON too.
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--log-format=json" ||
        (a == "--log-format" && i + 1 < argc && std::string_view(argv[i + 1]) == "json")) {
      diag::settings().format = diag::Format::json;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const UsageError& e) {
    // A value the option's validator refuses (cli::whole_number, ...), from the command line
    // or the config file; or a config file that is not TOML.
    std::string where = "cdn";
    for (auto* s : app.get_subcommands()) where += " " + s->get_name();
    diag::settings().program = where;
    diag::error(e.what());
    return kExitUsage;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string where = "cdn";
    for (auto* s : app.get_subcommands()) where += " " + s->get_name();
    diag::settings().program = where;
    std::string msg = e.what();
    if (msg.empty()) msg = e.get_name();
    if (dynamic_cast<const CLI::ConfigError*>(&e) != nullptr) {
      std::string file = app.get_config_ptr()->as<std::string>();
      msg = "bad config file " + diag::quoted(file) + ": " + msg +
            "; each [section] names a command and each key one of its long options";
    } else if (auto extra = app.remaining(true); !extra.empty() && !app.get_subcommands().empty()) {
      // CLI11 reports a missing required argument before words it did not expect; the
      // unexpected word is usually the cause, so name it.
      const std::string& x = extra.front();
      bool option = x.size() > 1 && x[0] == '-';
      msg = (option ? "unknown option " : "unexpected argument ") + diag::quoted(x);
      if (option) {
        std::string name = x.substr(0, x.find('='));
        // The command's options, and the global ones it also takes (fallthrough).
        std::vector<std::string> choices = long_options(*app.get_subcommands().front());
        for (auto& g : long_options(app)) choices.push_back(std::move(g));
        msg += did_you_mean(name, choices);
      }
    } else if (app.get_subcommands().empty()) {
      std::vector<std::string> names;
      for (const auto& [n, sub] : subs) names.push_back(n);
      if (auto word = first_word(argc, argv)) {
        msg = "unknown command " + diag::quoted(*word) + did_you_mean(*word, names);
      } else if (auto extra = app.remaining(true); !extra.empty()) {
        msg = "unknown option " + diag::quoted(extra.front()) +
              did_you_mean(extra.front().substr(0, extra.front().find('=')), long_options(app));
      } else {
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        msg = "no command given; name one of " + list;
      }
      where = "cdn";
    } else if (const auto* req = dynamic_cast<const CLI::RequiredError*>(&e)) {
      // "inputs is required": say what is missing in the command's own words.
      (void)req;
      const CLI::App* sub = app.get_subcommands().front();
      std::string name = msg.substr(0, msg.find(' '));
      if (const CLI::Option* o = sub->get_option_no_throw(name); o != nullptr) {
        std::string what =
            o->get_lnames().empty() ? o->get_type_name() : "--" + o->get_lnames().front();
        msg = "missing " + what + ": " + o->get_description();
      }
    }
    diag::error(msg + "; see '" + where + " --help'");
    return kExitUsage;
  }

  auto& ds = diag::settings();
  ds.quiet = quiet;
  ds.verbosity = verbosity;
  ds.format = log_format == "json" ? diag::Format::json : diag::Format::text;
  std::string name = app.get_subcommands().front()->get_name();
  cli::settle_kafka_options(*app.get_subcommands().front());
  ds.program = "cdn " + name;
  // Old spellings still work for a release, with one warning each.
  cli::warn_deprecated(*app.get_subcommands().front());
  // Option values end up in JSON text and line protocol: UTF-8 only (paths aside).
  try {
    cli::check_utf8_values(app);
  } catch (const UsageError& e) {
    diag::error(e.what());
    return kExitUsage;
  }

  io::install_signal_handlers();
  try {
    return runners.at(name)();
  } catch (const UsageError& e) {
    diag::error(e.what());
    return kExitUsage;
  } catch (const RuntimeError& e) {
    diag::error(e.what());
    return kExitFailure;
  } catch (const BrokenPipe&) {
    return kExitOk;  // the reader went away (`| head`): normal, quiet
  } catch (const Interrupted& e) {
    return 128 + e.signal;
  } catch (const std::bad_alloc&) {
    diag::error("out of memory; lower the memory budget (-S for sort) or split the input");
    return kExitFailure;
  } catch (const std::exception& e) {
    diag::error(std::string("unexpected error: ") + e.what());
    return kExitFailure;
  }
}
