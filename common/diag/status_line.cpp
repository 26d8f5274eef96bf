#include "common/diag/status_line.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>

#include "common/base/fd.hpp"
#include "common/diag/log.hpp"

namespace cdn::diag {

namespace {

// Guards stderr between diagnostics and the status line, and whether the line is shown.
std::mutex g_stderr;
bool g_shown = false;

constexpr const char* kClear = "\r\033[K";

}  // namespace

size_t terminal_width() {
  winsize w{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0) return w.ws_col;
  return 80;
}

void write_diagnostic(const std::string& line) {
  std::lock_guard lock(g_stderr);
  if (g_shown) {
    base::try_write_all(STDERR_FILENO, kClear, 4);
    g_shown = false;
  }
  base::try_write_all(STDERR_FILENO, line.data(), line.size());
}

bool StatusLine::wanted() {
  const Settings& s = settings();
  return !s.quiet && s.format == Format::text && ::isatty(STDERR_FILENO) == 1;
}

StatusLine::StatusLine(std::function<std::string()> text) : text_(std::move(text)) {
  thread_ = std::thread([this] { run(); });
}

StatusLine::~StatusLine() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  std::lock_guard lock(g_stderr);
  if (g_shown) {
    base::try_write_all(STDERR_FILENO, kClear, 4);
    g_shown = false;
  }
}

void StatusLine::run() {
  auto start = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  // Nothing for the first two seconds: a short run shows only its summary.
  if (wake_.wait_until(lock, start + std::chrono::seconds(2), [this] { return stop_; })) return;
  for (;;) {
    std::string text = text_();
    // One line, never wider than the terminal (the text is ASCII); the cursor stays on it.
    size_t width = terminal_width();
    if (text.size() > width - 1) text.resize(width - 1);
    {
      std::lock_guard out(g_stderr);
      std::string draw = kClear + text;
      base::try_write_all(STDERR_FILENO, draw.data(), draw.size());
      g_shown = true;
    }
    if (wake_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stop_; })) return;
  }
}

}  // namespace cdn::diag
