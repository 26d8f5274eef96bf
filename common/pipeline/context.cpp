#include "common/pipeline/context.hpp"

#include <cstdio>

#include "common/diag/errors.hpp"
#include "common/diag/log.hpp"
#include "common/io/signals.hpp"

namespace cdn::pipeline {

RunContext::RunContext(std::string command, std::unique_ptr<io::Sink> output,
                       std::unique_ptr<io::Sink> rejects)
    : command_(std::move(command)),
      out_(std::move(output)),
      rejects_(command_, std::move(rejects), counts_),
      start_(std::chrono::steady_clock::now()) {
  // The output, renamed into place at the end, would replace the rejects, or the other way.
  if (io::same_file(*out_, rejects_.sink())) {
    throw UsageError("cannot write rejects to " + diag::quoted(rejects_.sink().name()) +
                     ": it is the same file as the output " + diag::quoted(out_->name()) +
                     "; name another file with --rejects or -o");
  }
}

void RunContext::commit() {
  // Both written out, then the rejects put in place before the output: a run whose rejects
  // cannot be written (a full disk) leaves no output file, and an output file never stands
  // without the rejects of its records. (Streams show what they are given at once; the
  // output is written out first so that stdout and stderr interleave as they did.)
  io::Sink& rejects = rejects_.sink();
  out_->flush();
  rejects.flush();
  rejects.commit();
  out_->commit();
  if (!undelivered_) {
    for (auto& f : after_commit_) f();
  }
}

int RunContext::finish(std::string_view extra) {
  commit();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  char buf[256];
  std::snprintf(buf, sizeof buf, "%llu in, %llu out, %llu rejected in %.2f s",
                static_cast<unsigned long long>(counts_.in),
                static_cast<unsigned long long>(counts_.out),
                static_cast<unsigned long long>(counts_.rejected), secs);
  std::string line = buf;
  if (!extra.empty()) {
    line += ", ";
    line += extra;
  }
  int sig = io::stop_signal();
  if (sig) line += sig == 2 ? " (interrupted by SIGINT)" : " (interrupted by SIGTERM)";
  diag::summary(line);
  if (counts_.in != counts_.out + counts_.rejected) {
    diag::error("internal error: counts do not balance (" + std::to_string(counts_.in) + " in, " +
                std::to_string(counts_.out) + " out, " + std::to_string(counts_.rejected) +
                " rejected); please report this");
    return kExitFailure;
  }
  if (sig) throw Interrupted(sig);
  return counts_.rejected > 0 ? kExitRejected : kExitOk;
}

}  // namespace cdn::pipeline
