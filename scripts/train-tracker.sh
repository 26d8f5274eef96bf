#!/usr/bin/env bash
# Starts XGBoost's Rabit tracker (python3-xgboost's RabitTracker) for one distributed run of
# `cdn train`: the workers, each started with --tracker HOST:PORT --workers N --rank I, find
# each other through it. It ranks the workers by their --rank, and it prints on stdout, once it
# listens, the one line the workers need:
#
#   CDN_TRACKER=HOST:PORT CDN_WORKERS=N
#
# It ends when the run does: status 0 when every worker has finished, 1 as soon as a worker
# says it failed (the others fail too: the run stops as a whole), 2 on a usage error. One
# tracker serves one run; start another for the next (a Kubernetes Deployment restarts it).
#
# Usage: scripts/train-tracker.sh --workers N [--host HOST] [--port PORT]
#   --host HOST   the address to listen on and to print (default 127.0.0.1; 0.0.0.0 listens on
#                 every interface and prints the host's name)
#   --port PORT   the port (default 9091; 0 picks a free one, printed)
set -euo pipefail

usage() { sed -n 's/^# \{0,1\}//;/^Usage:/,/^$/p' "$0" | sed '/^set /d' >&2; exit "${1:-2}"; }
workers="" host=127.0.0.1 port=9091
while [ $# -gt 0 ]; do
  case $1 in
    --workers) workers=${2:-}; shift 2 || usage ;;
    --host) host=${2:-}; shift 2 || usage ;;
    --port) port=${2:-}; shift 2 || usage ;;
    -h | --help) usage 0 ;;
    *) echo "train-tracker.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ $workers =~ ^[1-9][0-9]*$ ]] || { echo "train-tracker.sh: give --workers N, a whole number from 1" >&2; exit 2; }
if ! [[ $port =~ ^[0-9]+$ ]] || [ "$port" -gt 65535 ]; then
  echo "train-tracker.sh: bad --port '$port'; give 0 to 65535" >&2
  exit 2
fi
[ -n "$host" ] || { echo "train-tracker.sh: give --host HOST" >&2; exit 2; }

exec /usr/bin/python3 -u - "$host" "$port" "$workers" <<'PY'
import importlib.util, logging, os, socket, sys, threading

host, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# tracker.py alone (standard library only): not the xgboost package, which loads libxgboost.
spec = importlib.util.find_spec("xgboost")
if spec is None or not spec.submodule_search_locations:
    sys.exit("train-tracker.sh: python3-xgboost is missing (apt-get install python3-xgboost)")
path = os.path.join(list(spec.submodule_search_locations)[0], "tracker.py")
mod_spec = importlib.util.spec_from_file_location("rabit_tracker", path)
tracker = importlib.util.module_from_spec(mod_spec)
mod_spec.loader.exec_module(tracker)


class Watch(logging.Handler):
    """The workers' lines ("print" in the tracker protocol); a failure ends the run."""

    def emit(self, record):
        msg = record.getMessage()
        sys.stderr.write(f"train-tracker: {msg}\n")
        if msg.startswith("cdn train: failed:"):
            sys.stderr.write("train-tracker: the run failed; start a new tracker for the next\n")
            sys.stderr.flush()
            os._exit(1)


logging.basicConfig(level=logging.INFO, handlers=[Watch()])
try:
    t = tracker.RabitTracker(host_ip=host, n_workers=workers, port=port, use_logger=True,
                             sortby="task")
except OSError as e:
    sys.exit(f"train-tracker.sh: cannot listen on {host}:{port}: {e.strerror}")
shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
if ":" in shown:
    shown = f"[{shown}]"
failed = []


def run():
    try:
        t.accept_workers(workers)
    except Exception as e:  # a worker that broke the protocol (another --workers, say)
        failed.append(e)


thread = threading.Thread(target=run, daemon=True)
thread.start()
print(f"CDN_TRACKER={shown}:{t.port} CDN_WORKERS={workers}", flush=True)
while thread.is_alive():
    thread.join(1)
if failed:
    sys.exit(f"train-tracker: the run failed: {failed[0]!r}; start a new tracker for the next")
sys.stderr.write(f"train-tracker: the run of {workers} workers ended\n")
PY
