// The official JSON-Schema-Test-Suite (Debian's json-schema-test-suite) against the compiled
// validator: every required case of drafts 4, 6 and 7, and the optional format cases of the
// formats cdn validate checks. Remote references (refRemote.json, which needs a web server)
// are left out.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "common/diag/errors.hpp"
#include "common/schema/validator.hpp"

namespace fs = std::filesystem;
using cdn::schema::Validator;

namespace {

const fs::path kSuite = "/usr/share/json-schema-test-suite/tests";

const std::set<std::string> kFormats = {"date-time.json", "date.json", "time.json",
                                        "ipv4.json",      "ipv6.json", "email.json",
                                        "hostname.json",  "uri.json"};

struct Outcome {
  int passed = 0;
  std::vector<std::string> failures;
};

void run_file(const fs::path& file, int draft, Outcome& out) {
  simdjson::dom::parser parser;
  simdjson::dom::element groups;
  ASSERT_EQ(parser.load(file.string()).get(groups), simdjson::SUCCESS) << file;
  for (simdjson::dom::element group : groups.get_array()) {
    std::string_view description = group["description"].get_string().value();
    std::string schema_text = simdjson::minify(group["schema"]);
    // The suite's schemas rely on the draft of the directory they are in.
    if (schema_text.front() == '{' && schema_text.find("\"$schema\"") == std::string::npos) {
      std::string meta =
          draft == 4 ? "http://json-schema.org/draft-04/schema#"
                     : "http://json-schema.org/draft-0" + std::to_string(draft) + "/schema#";
      std::string head = "{\"$schema\":\"" + meta + "\"";
      schema_text = head + (schema_text == "{}" ? "}" : "," + schema_text.substr(1));
    }
    std::unique_ptr<Validator> v;
    try {
      v = Validator::from_text(schema_text, "file:///suite/" + file.filename().string());
    } catch (const std::exception& e) {
      out.failures.push_back(file.filename().string() + ": " + std::string(description) +
                             ": schema refused: " + e.what());
      continue;
    }
    for (simdjson::dom::element test : group["tests"].get_array()) {
      bool expect = test["valid"].get_bool().value();
      std::vector<cdn::schema::ValidationError> errors;
      bool got = v->validate(test["data"], errors);
      bool fast = v->valid(test["data"]);
      if (got == expect && fast == expect && errors.empty() == expect) {
        ++out.passed;
      } else {
        out.failures.push_back(file.filename().string() + ": " + std::string(description) + ": " +
                               std::string(test["description"].get_string().value()) +
                               ": expected " + (expect ? "valid" : "invalid"));
      }
    }
  }
}

void run_draft(int draft) {
  fs::path dir = kSuite / ("draft" + std::to_string(draft));
  ASSERT_TRUE(fs::is_directory(dir)) << dir << " is missing; scripts/setup.sh installs it";
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".json" && e.path().filename() != "refRemote.json") {
      files.push_back(e.path());
    }
  }
  if (fs::is_directory(dir / "optional" / "format")) {
    for (const auto& e : fs::directory_iterator(dir / "optional" / "format")) {
      if (kFormats.count(e.path().filename().string())) files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  Outcome out;
  for (const auto& f : files) run_file(f, draft, out);
  std::string all;
  for (const auto& f : out.failures) all += f + "\n";
  EXPECT_TRUE(out.failures.empty())
      << out.failures.size() << " of " << out.passed + out.failures.size() << " cases failed:\n"
      << all;
  EXPECT_GT(out.passed, 250);
  std::printf("draft %d: %d cases of %zu files passed\n", draft, out.passed, files.size());
}

}  // namespace

TEST(SchemaSuite, Draft7) {
  run_draft(7);
}
TEST(SchemaSuite, Draft6) {
  run_draft(6);
}
TEST(SchemaSuite, Draft4) {
  run_draft(4);
}
