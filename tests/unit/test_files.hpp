// Temporary files for reader tests.
#pragma once

#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/pipeline/context.hpp"
#include "common/record/source.hpp"

namespace cdn::test {

class ScratchDir {
 public:
  ScratchDir() {
    char tmpl[] = "/tmp/cdn-unit-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~ScratchDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string file(const std::string& name, const std::string& content) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  std::string gzip_file(const std::string& name, const std::string& content) const {
    std::string p = path_ + "/" + name;
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
    gzclose(f);
    return p;
  }
  std::string path(const std::string& name) const { return path_ + "/" + name; }
  static std::string read(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string path_;
};

// Every record of one input, with the counts and what went to rejects.
struct Read {
  std::vector<std::string> texts;
  std::vector<uint64_t> lines;
  record::Counts counts;
  std::string rejects;
};

inline Read read_all(const ScratchDir& dir, const std::string& path,
                     record::SourceOptions opts = {}) {
  Read r;
  std::string rej = dir.path("rejects.ndjson");
  {
    record::Rejects rejects("test", io::open_file_sink(rej, io::SinkRole::rejects), r.counts);
    auto src = record::open_file_source(path, opts, rejects, r.counts);
    record::Record rec;
    while (src->next(rec)) {
      r.texts.emplace_back(rec.text);
      r.lines.push_back(rec.line);
    }
    rejects.sink().commit();
  }
  r.rejects = ScratchDir::read(rej);
  return r;
}

}  // namespace cdn::test
