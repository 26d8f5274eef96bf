// SIGINT/SIGTERM: stop reading, flush, clean up. SIGPIPE: ignored, so writes see EPIPE and
// the command ends quietly. SIGXFSZ: ignored, so a write past the file-size limit fails
// with EFBIG like any other write error.
#pragma once

namespace cdn::io {

// Installs the handlers (without SA_RESTART, so a blocking read returns EINTR).
void install_signal_handlers();

// The signal that asked us to stop, or 0.
int stop_signal();
inline bool stop_requested() {
  return stop_signal() != 0;
}

// Throws cdn::Interrupted when a stop was requested.
void throw_if_stopped();

// SIGHUP asks a long-running command to reload (cdn predict: its model bundle) instead of
// ending it. Installed only by the commands that reload.
void install_reload_signal();
// True once after each SIGHUP received since the last call.
bool take_reload_request();

}  // namespace cdn::io
