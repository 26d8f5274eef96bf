#!/usr/bin/python3
"""Writes, from deploy/docker-compose.yml, the compose file that runs offline with Debian's
podman and podman-compose: no image registry, one machine.

    python3 deploy/podman/offline-compose.py [options] > offline.yml
    podman-compose -f offline.yml -p cdn up -d kafka influxdb

- kafka is `cdn broker` in the cdn image, with the topics of cdn.toml's [broker] section
  (kafka-init has nothing left to do and is left out); its BROKERS= line (podman logs) names
  the brokers, which listen on 127.0.0.1 on ports of their own choosing;
- influxdb is Debian's influxd (deploy/podman/influxdb.Dockerfile), database cdn;
- Grafana and Prometheus, whose images come only from a registry, are left out;
- every cdn service keeps its image, command, environment and mounts as they are, and runs on
  the host's network: kafka and influxdb resolve to 127.0.0.1, and --metrics-addr
  0.0.0.0:9464 (one port per container in the compose file's own network) becomes
  --metrics-addr (127.0.0.1:0 by default: a free port each, on the loopback only);
- depends_on goes: Debian's podman-compose (1.0.3) ignores its conditions, so the caller
  orders the steps (kafka and influxdb up, trainer and provider run, then the consumers up);
- --replicas SERVICE=N sets deploy.replicas, which that podman-compose honours (it ignores
  `up --scale`);
- relative mounts become absolute (deploy/ is the base), and --cdn-toml mounts another
  cdn.toml at /etc/cdn/cdn.toml (one naming where the broker and influxd listen), --data
  another data directory at /data.
"""
import argparse
import copy
import os
import sys
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parent.parent
LEFT_OUT = ("kafka-init", "grafana", "prometheus")


def is_cdn(service):
    return str(service.get("image", "")).startswith("cdn:")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--compose", default=str(DEPLOY / "docker-compose.yml"))
    p.add_argument("--cdn-toml", help="the cdn.toml to mount at /etc/cdn/cdn.toml")
    p.add_argument("--data", help="the directory to mount at /data")
    p.add_argument("--metrics-addr", default="127.0.0.1:0",
                   help="what --metrics-addr 0.0.0.0:9464 becomes (default 127.0.0.1:0)")
    p.add_argument("--influx-http", default="127.0.0.1:8086",
                   help="where influxd listens for HTTP (default 127.0.0.1:8086)")
    p.add_argument("--influx-rpc", default="127.0.0.1:8088",
                   help="where influxd's RPC service listens (default 127.0.0.1:8088)")
    p.add_argument("--replicas", action="append", default=[], metavar="SERVICE=N")
    a = p.parse_args()

    src = Path(a.compose).resolve()
    doc = yaml.safe_load(src.read_text())
    base = src.parent
    services = doc["services"]
    cdn = next(s for s in services.values() if is_cdn(s))
    out = {}

    def mounts(vols):
        res = []
        for v in vols:
            host, _, rest = v.partition(":")
            target = rest.split(":")[0]
            if target == "/etc/cdn/cdn.toml" and a.cdn_toml:
                host = a.cdn_toml
            elif target == "/data" and a.data:
                host = a.data
            elif host.startswith("."):
                host = str((base / host).resolve())
            res.append(f"{host}:{rest}")
        return res

    def host_network(s):
        s["network_mode"] = "host"
        s["extra_hosts"] = ["kafka:127.0.0.1", "influxdb:127.0.0.1"]
        s.pop("ports", None)
        s.pop("depends_on", None)
        s.pop("healthcheck", None)
        return s

    for name, s in services.items():
        if name in LEFT_OUT:
            continue
        if name == "kafka":
            s = {
                "image": cdn["image"],
                "environment": {"CDN_CONFIG": "/etc/cdn/cdn.toml"},
                "volumes": mounts([v for v in cdn["volumes"] if v.split(":")[1] == "/etc/cdn/cdn.toml"]),
                "command": ["cdn", "broker"],
                "restart": "unless-stopped",
            }
        elif name == "influxdb":
            s = {
                "image": "cdn-influxdb:1.6",
                "build": {"context": str(DEPLOY / "podman"), "dockerfile": "influxdb.Dockerfile"},
                "environment": {
                    "INFLUXDB_HTTP_BIND_ADDRESS": a.influx_http,
                    "INFLUXDB_BIND_ADDRESS": a.influx_rpc,
                },
                "volumes": ["influxdb-data:/var/lib/influxdb"],
                "restart": "unless-stopped",
            }
        elif is_cdn(s):
            s = copy.deepcopy(s)
            s["volumes"] = mounts(s.get("volumes", []))
            if "build" in s:
                s["build"]["context"] = str((base / s["build"]["context"]).resolve())
            cmd = s.get("command")
            if isinstance(cmd, list):
                s["command"] = [c.replace("0.0.0.0:9464", a.metrics_addr) for c in cmd]
        else:
            sys.exit(f"offline-compose.py: service {name} is neither a cdn service nor one it knows")
        out[name] = host_network(s)
    for r in a.replicas:
        name, _, n = r.partition("=")
        if name not in out or not n.isdigit():
            sys.exit(f"offline-compose.py: --replicas {r}: want SERVICE=N with a service of the file")
        out[name].setdefault("deploy", {})["replicas"] = int(n)
    vols = {v: None for v in doc.get("volumes", {}) if v in ("models", "influxdb-data")}
    yaml.safe_dump({"services": out, "volumes": vols}, sys.stdout, sort_keys=False, width=100)


if __name__ == "__main__":
    main()
