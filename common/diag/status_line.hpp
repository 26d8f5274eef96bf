// One status line on stderr while a command runs, when stderr is a terminal (and neither -q
// nor --log-format json was given): shown from two seconds in, redrawn four times a second,
// cut to the terminal's width. A diagnostic line clears it first (diag::log), and it is gone
// before the summary.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace cdn::diag {

class StatusLine {
 public:
  // `text` runs on the status line's own thread: it must read only what is safe there.
  explicit StatusLine(std::function<std::string()> text);
  ~StatusLine();  // clears the line
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  // Whether a status line would be shown: stderr a terminal, not -q, text diagnostics.
  static bool wanted();

 private:
  void run();

  std::function<std::string()> text_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

// The columns of the terminal on stderr (80 when it does not say).
size_t terminal_width();

// Writes a line to stderr, clearing a status line first (used by diag::log).
void write_diagnostic(const std::string& line);

}  // namespace cdn::diag
