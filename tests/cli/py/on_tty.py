#!/usr/bin/python3
"""Run a command on a pseudo-terminal of its own, as a user at a terminal would.

usage: on_tty.py [--cols N] [--eof-when TEXT] [--interrupt-after S] [--timeout S] -- CMD...

The command starts in a new session whose controlling terminal is the pty (its
standard input, output and error), so it is the terminal's foreground process
group: reading the terminal never stops it (SIGTTIN), and keys reach it as they
would from a keyboard. Everything it writes to the terminal is copied to our
standard output, byte for byte (the terminal turns "\n" into "\r\n").

  --cols N             the terminal's width
  --eof-when TEXT      type Ctrl-D once TEXT has been written to the terminal
  --interrupt-after S  type Ctrl-C S seconds after the start
  --timeout S          kill the command's process group after S seconds (exit 124)

The exit status is the command's, 128+N when signal N ended it. Nothing here
depends on our own standard input, the caller's terminal or $SHELL.
"""
import argparse
import fcntl
import os
import select
import signal
import struct
import sys
import termios
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cols", type=int, default=80)
    ap.add_argument("--eof-when")
    ap.add_argument("--interrupt-after", type=float)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("cmd", nargs="+")
    args = ap.parse_args()

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, args.cols, 0, 0))
    pid = os.fork()
    if pid == 0:
        try:
            os.close(master)
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            if slave > 2:
                os.close(slave)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            os.execvp(args.cmd[0], args.cmd)
        except OSError as e:
            os.write(2, f"on_tty.py: cannot run {args.cmd[0]}: {e}\n".encode())
        os._exit(127)
    os.close(slave)

    start = time.monotonic()
    seen = b""
    eof_sent = args.eof_when is None
    interrupted = args.interrupt_after is None
    status = None
    out = sys.stdout.buffer
    while True:
        now = time.monotonic() - start
        if now >= args.timeout:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            sys.stderr.write(f"on_tty.py: {args.cmd[0]} still running after {args.timeout} s: killed\n")
            return 124
        if not interrupted and now >= args.interrupt_after:
            os.write(master, b"\x03")
            interrupted = True
        wait = 0.05
        ready, _, _ = select.select([master], [], [], wait)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal is gone
                data = b""
            if data:
                out.write(data)
                out.flush()
                if not eof_sent:
                    seen = (seen + data)[-65536:]
                    if args.eof_when.encode() in seen:
                        os.write(master, b"\x04")
                        eof_sent = True
                continue
            if status is None:
                _, status = os.waitpid(pid, 0)
            break
        if status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
                # drain what is still buffered in the terminal, then stop
                while select.select([master], [], [], 0.2)[0]:
                    try:
                        data = os.read(master, 65536)
                    except OSError:
                        data = b""
                    if not data:
                        break
                    out.write(data)
                out.flush()
                break
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
