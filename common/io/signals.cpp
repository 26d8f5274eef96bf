#include "common/io/signals.hpp"

#include <signal.h>

#include <atomic>

#include "common/diag/errors.hpp"

namespace cdn::io {

namespace {
std::atomic<int> g_stop{0};
std::atomic<bool> g_reload{false};

extern "C" void on_stop(int sig) {
  g_stop.store(sig, std::memory_order_relaxed);
}

extern "C" void on_reload(int) {
  g_reload.store(true, std::memory_order_relaxed);
}
}  // namespace

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking reads return EINTR and see the flag
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // A file past the size limit (ulimit -f, RLIMIT_FSIZE) would kill the process with
  // SIGXFSZ and leave its temporary files behind; ignored, the write fails with EFBIG and
  // the usual error path reports it and cleans up.
  signal(SIGXFSZ, SIG_IGN);
}

void install_reload_signal() {
  struct sigaction sa {};
  sa.sa_handler = on_reload;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // nothing waits on it: reads carry on
  sigaction(SIGHUP, &sa, nullptr);
}

bool take_reload_request() {
  return g_reload.exchange(false, std::memory_order_relaxed);
}

int stop_signal() {
  return g_stop.load(std::memory_order_relaxed);
}

void throw_if_stopped() {
  if (int sig = stop_signal()) throw Interrupted(sig);
}

}  // namespace cdn::io
