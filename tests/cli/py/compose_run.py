#!/usr/bin/python3
"""The `podman run` arguments that start one service of deploy/docker-compose.yml as Compose
would, on the host's network, for tests/cli/container.bats.

Usage: compose_run.py COMPOSE SERVICE HOST_PATH=MOUNT_SOURCE...

Prints, NUL-separated: the options (environment, user, mounts), then the image, then the
command. Compose's interpolation is applied (${VAR}, ${VAR:-default}, ${VAR:?message} from
this process's environment, $$ as $). Each mount source (./cdn.toml, ./data, the volume
models) is replaced by the host path given for it (./cdn.toml=/tmp/x/cdn.toml); a mount left
without one is an error. The one change to a command: --metrics-addr 0.0.0.0:9464, a port per
container in Compose's network, becomes 127.0.0.1:0 (a free port of the loopback), the
host's network being shared by every container of the test.
"""
import os
import re
import sys

import yaml

VAR = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)")


def interpolate(text):
    def one(m):
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        value = os.environ.get(name)
        op, arg = m.group(2), m.group(3)
        if op in (":-", "-"):
            return value if value or (op == "-" and value is not None) else arg
        if op in (":?", "?") and not value:
            sys.exit(f"compose_run.py: {name}: {arg}")
        return value or ""
    return VAR.sub(one, text) if isinstance(text, str) else text


def main():
    compose, name = sys.argv[1], sys.argv[2]
    sources = dict(a.split("=", 1) for a in sys.argv[3:])
    svc = yaml.safe_load(open(compose))["services"][name]
    out = []
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    for k, v in env.items():
        out += ["-e", f"{k}={interpolate(str(v))}"]
    if "user" in svc:
        out += ["--user", interpolate(svc["user"])]
    for v in svc.get("volumes", []):
        src, target = v.split(":", 2)[:2]
        opts = v.split(":", 2)[2:]
        if src not in sources:
            sys.exit(f"compose_run.py: service {name} mounts {src}: give HOST_PATH for it")
        out += ["-v", ":".join([sources[src], target] + opts)]
    out.append(interpolate(svc["image"]))
    cmd = svc.get("command", [])
    out += [interpolate(c).replace("0.0.0.0:9464", "127.0.0.1:0") for c in cmd]
    sys.stdout.write("\0".join(out) + "\0")


if __name__ == "__main__":
    main()
