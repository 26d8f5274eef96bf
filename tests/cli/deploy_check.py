#!/usr/bin/python3
"""Static checks of deploy/ for tests/cli/deploy.bats: no Docker, no cluster, no network.

Usage: deploy_check.py COMMAND ARGS (REPO is the repository root)
  compose REPO VERSION          the compose file: services, images, mounts, ports, topics
  k8s REPO VERSION              the kustomization and its manifests
  commands REPO                 every cdn command line of compose and k8s, one JSON argv a line
  check-argv CDN TOML ARGV_JSON one cdn command line against `cdn CMD --help` and cdn.toml
  dockerfile REPO               the build packages, one a line, then "--", the runtime ones
  setup-build-packages REPO     scripts/setup.sh's build packages (from "# build" to "# unit tests")
  dashboard-queries URL DB FILE...  runs every InfluxQL query of the dashboards, with Grafana's
                                macros replaced, over the time its measurement spans; each must
                                return a series with a value
  dashboard-promql URL FILE...  runs every PromQL query of the dashboards against the
                                Prometheus at URL; each must return at least one sample
                                (queries of METRICS_NOT_YET_IN_CODE are skipped)
  dashboard-metrics REPO        every cdn_ metric the dashboards query is exported by the code
                                (a word of common/ or cmd/), or listed in
                                METRICS_NOT_YET_IN_CODE; prints the names, one a line
Prints what is wrong on stderr and exits 1 when anything is.
"""
import json
import re
import shlex
import subprocess
import sys
import tomllib
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

problems = []

# Metrics the dashboards query ahead of the code that will export them (drift monitoring, built
# on another branch). The one list to update: a name here that the code exports is an error, so
# that the list empties as the code arrives.
METRICS_NOT_YET_IN_CODE: set = set()


def bad(msg):
    problems.append(msg)


def finish():
    for p in problems:
        print(f"deploy_check: {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)


def load_toml(repo):
    with open(Path(repo) / "deploy" / "cdn.toml", "rb") as f:
        return tomllib.load(f)


def broker_topics(repo):
    """NAME -> partitions, from cdn.toml's [broker] topic list."""
    topics = {}
    for spec in load_toml(repo)["broker"]["topic"]:
        name, parts = spec.split(":")
        topics[name] = int(parts)
    return topics


# ---------------------------------------------------------------- command lines

def split_shell(script):
    """The simple commands of a bash one-liner: pipes, lists and process substitutions. A
    process substitution >(...) or <(...) stands in its command as /dev/fd/63, as in bash."""
    lex = shlex.shlex(script, posix=True, punctuation_chars="|&;()<>")
    lex.whitespace_split = True
    cmds, stack = [], [[]]
    for tok in lex:
        if tok in (">(", "<("):
            stack[-1].append("/dev/fd/63")
            stack.append([])
        elif set(tok) <= set("|&;()<>"):
            for ch in tok:
                if ch == ")" and len(stack) > 1:
                    if stack[-1]:
                        cmds.append(stack[-1])
                    stack.pop()
            if tok.strip(")") and stack[-1]:
                cmds.append(stack[-1])
                stack[-1] = []
        else:
            stack[-1].append(tok)
    for c in stack:
        if c:
            cmds.append(c)
    return cmds


def argvs_of(command, where):
    """The cdn invocations of a container command (a list: argv, or bash -c SCRIPT)."""
    if isinstance(command, str):
        command = shlex.split(command)
    if not command:
        return []
    if command[0] in ("bash", "/bin/bash", "sh", "/bin/sh"):
        script = command[command.index("-c") + 1] if "-c" in command else None
        if script is None:
            bad(f"{where}: a shell without -c SCRIPT")
            return []
        out = []
        for c in split_shell(script):
            # what may stand before a command: exec, a group's brace, a keyword
            while c and c[0] in ("exec", "{", "!", "if", "then", "else", "elif", "while",
                                 "until", "do", "time"):
                c = c[1:]
            if c and c[0] == "cdn":
                out.append(c)
        if not out:
            bad(f"{where}: the script runs no cdn command")
        return out
    if command[0] == "cdn":
        return [command]
    return []


def compose_services(repo):
    with open(Path(repo) / "deploy" / "docker-compose.yml") as f:
        return yaml.safe_load(f)["services"]


def k8s_docs(repo):
    base = Path(repo) / "deploy" / "k8s"
    kust = yaml.safe_load((base / "kustomization.yaml").read_text())
    docs = []
    for r in kust["resources"]:
        docs += [(r, d) for d in yaml.safe_load_all((base / r).read_text()) if d]
    return kust, docs


def pod_spec(doc):
    if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return doc["spec"]["template"]["spec"]
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def all_argvs(repo):
    out = []
    for name, svc in compose_services(repo).items():
        if "command" in svc:
            out += [(f"compose service {name}", a) for a in argvs_of(svc["command"], name)]
    for _, doc in k8s_docs(repo)[1]:
        spec = pod_spec(doc)
        for c in (spec or {}).get("containers", []):
            where = f"k8s {doc['kind']} {doc['metadata']['name']}"
            if "command" in c:
                out += [(where, a) for a in argvs_of(c["command"] + c.get("args", []), where)]
    return out


def help_options(cdn, cmd):
    """From CMD --help: option name -> (its long name, takes a value), the REQUIRED long names,
    and (without CMD) the commands."""
    args = [cdn] + ([cmd] if cmd else []) + ["--help"]
    text = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    opts, required, subs, section = {}, set(), set(), None
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line
            continue
        if section == "Subcommands:" and re.match(r"^  \S", line):
            subs.add(line.split()[0])
        m = re.match(r"^  (-\S+)( \S)?", line)
        if not m or section != "Options:":
            continue
        names = m.group(1).split(",")
        for n in names:
            opts[n] = (names[-1], m.group(2) is not None)
        if "REQUIRED" in line:
            required.add(names[-1])
    return opts, required, subs


def check_argv(cdn, toml_path, argv):
    """One cdn command line: global options, a command, every option known, values typed."""
    where = " ".join(shlex.quote(a) for a in argv)
    gopts, _, subs = help_options(cdn, None)
    i = 1
    while i < len(argv) and argv[i].startswith("-"):
        name = argv[i].split("=")[0]
        if name not in gopts:
            bad(f"{where}: unknown global option {name}")
            return
        i += 2 if gopts[name][1] and "=" not in argv[i] else 1
    if i >= len(argv) or argv[i] not in subs:
        bad(f"{where}: no cdn command")
        return
    cmd = argv[i]
    opts, required, _ = help_options(cdn, cmd)
    given, topics = set(), []
    j = i + 1
    while j < len(argv):
        a = argv[j]
        if a.startswith("-") and a != "-":
            name = a.split("=")[0]
            if name not in opts:
                bad(f"{where}: cdn {cmd} has no option {name}")
                j += 1
                continue
            long, takes = opts[name]
            given.add(long)
            if takes and "=" not in a:
                if j + 1 >= len(argv):
                    bad(f"{where}: {name} needs a value")
                elif long in ("--output", "--rejects", "--stats-file") and argv[j + 1].startswith("kafka:"):
                    topics.append(argv[j + 1][6:])
                j += 2
                continue
        elif a.startswith("kafka:"):
            topics.append(a[6:])
        j += 1
    # A required option comes from the command line or the command's section of cdn.toml.
    with open(toml_path, "rb") as f:
        section = tomllib.load(f).get(cmd, {})
    for r in sorted(required - given):
        if r[2:] not in section:
            bad(f"{where}: {r} is required and neither given nor in [{cmd}] of cdn.toml")
    for t in topics:
        topics_used.append((where, t))
    # The values: CLI11 checks their types and choices before it answers --help.
    run = subprocess.run([cdn, "--config", toml_path] + argv[1:] + ["--help"],
                         capture_output=True, text=True, timeout=30)
    if run.returncode != 0:
        bad(f"{where}: refused (status {run.returncode}): {run.stderr.strip()}")


topics_used = []


# ---------------------------------------------------------------- compose


def check_compose(repo, version):
    deploy = Path(repo) / "deploy"
    doc = yaml.safe_load((deploy / "docker-compose.yml").read_text())
    services = doc["services"]
    declared_volumes = set((doc.get("volumes") or {}).keys())
    for want in ("kafka", "influxdb", "grafana", "trainer", "provider", "predictor",
                 "loader-records", "loader-predictions", "promote", "rollback"):
        if want not in services:
            bad(f"compose: no service {want}")
    for name, svc in services.items():
        if "image" not in svc and "build" not in svc:
            bad(f"compose service {name}: neither image nor build")
        for dep in svc.get("depends_on", {}) or {}:
            if dep not in services:
                bad(f"compose service {name}: depends on {dep}, which is not a service")
        for v in svc.get("volumes", []):
            src, dst = v.split(":")[0], v.split(":")[1]
            if src.startswith(".") or src.startswith("/"):
                p = (deploy / src).resolve()
                # deploy/data holds the operator's CSV files (or demo-data's): not in git.
                if src != "./data" and not p.exists():
                    bad(f"compose service {name}: mounts {src}, which does not exist")
            elif src not in declared_volumes:
                bad(f"compose service {name}: volume {src} is not declared")
            if not dst.startswith("/"):
                bad(f"compose service {name}: mount target {dst} is not absolute")
        for p in svc.get("ports", []):
            if not str(p).startswith("127.0.0.1:"):
                bad(f"compose service {name}: port {p} is not bound to 127.0.0.1")
        image = str(svc.get("image", ""))
        if image.startswith("cdn:") or "build" in svc:
            if image != "cdn:${CDN_VERSION:-%s}" % version:
                bad(f"compose service {name}: image {image!r}, not cdn:${{CDN_VERSION:-{version}}}")
            build = svc.get("build") or {}
            if (deploy / build.get("context", ".") / build.get("dockerfile", "Dockerfile")).resolve() \
                    != (deploy / "Dockerfile").resolve():
                bad(f"compose service {name}: does not build deploy/Dockerfile")
            if (build.get("args") or {}).get("CDN_VERSION") != "${CDN_VERSION:-%s}" % version:
                bad(f"compose service {name}: the build's CDN_VERSION is not the project version")
            env = svc.get("environment") or {}
            if env.get("CDN_CONFIG") != "/etc/cdn/cdn.toml":
                bad(f"compose service {name}: CDN_CONFIG is not /etc/cdn/cdn.toml")
            if "./cdn.toml:/etc/cdn/cdn.toml:ro" not in svc.get("volumes", []):
                bad(f"compose service {name}: deploy/cdn.toml is not mounted at /etc/cdn/cdn.toml")
    ports = {str(p) for s in services.values() for p in s.get("ports", [])}
    for want in ("127.0.0.1:9094:9094", "127.0.0.1:8086:8086", "127.0.0.1:3000:3000"):
        if want not in ports:
            bad(f"compose: no port {want}")
    if not str(services["influxdb"]["image"]).startswith("influxdb:1.8"):
        bad("compose: InfluxDB is not influxdb:1.8")
    kenv = services["kafka"]["environment"]
    if "controller" not in kenv.get("KAFKA_PROCESS_ROLES", "") or "KAFKA_ZOOKEEPER_CONNECT" in kenv:
        bad("compose: Kafka does not run in KRaft mode")
    adv = kenv.get("KAFKA_ADVERTISED_LISTENERS", "")
    if "//kafka:9092" not in adv:
        bad("compose: Kafka does not advertise kafka:9092, the brokers of cdn.toml")
    # The topics the init container creates are cdn.toml's [broker] topics.
    script = " ".join(services["kafka-init"]["command"])
    loop = re.search(r"for t in ([^;]*);", script)
    created = dict((n, int(p)) for n, p in re.findall(r"\b([a-z]+):(\d+)\b", loop.group(1) if loop else ""))
    if created != broker_topics(repo):
        bad(f"compose: kafka-init creates {created}, cdn.toml [broker] names {broker_topics(repo)}")
    # Grafana: the provisioning and the dashboards, mounted where the provider looks.
    gvols = services["grafana"]["volumes"]
    prov = yaml.safe_load(next((deploy / "grafana/provisioning/dashboards").glob("*.yml")).read_text())
    path = prov["providers"][0]["options"]["path"]
    if f"./grafana/dashboards:{path}:ro" not in gvols:
        bad(f"compose: the dashboards are not mounted at {path}, where the provider reads them")
    if "./grafana/provisioning:/etc/grafana/provisioning:ro" not in gvols:
        bad("compose: the provisioning is not mounted at /etc/grafana/provisioning")
    sources = {}
    for f in sorted((deploy / "grafana/provisioning/datasources").glob("*.yml")):
        for src in yaml.safe_load(f.read_text())["datasources"]:
            sources[src["uid"]] = src
    influxes = [s for s in sources.values() if s["type"] == "influxdb"]
    proms = [s for s in sources.values() if s["type"] == "prometheus"]
    toml = load_toml(repo)["load-influx"]
    if len(influxes) != 1 or influxes[0]["url"] != toml["url"] or influxes[0]["jsonData"]["dbName"] != toml["db"]:
        bad("grafana datasource: not one InfluxDB datasource at the URL and database of cdn.toml [load-influx]")
    prom_port = services.get("prometheus", {}).get("ports", ["::9090"])[0].rsplit(":", 1)[-1]
    if len(proms) != 1 or proms[0]["url"] != f"http://prometheus:{prom_port}":
        bad("grafana datasource: not one Prometheus datasource at the compose service prometheus")
    for dash in (deploy / "grafana/dashboards").glob("*.json"):
        d = json.loads(dash.read_text())
        for p in d["panels"]:
            for t in p.get("targets", []):
                ds = t.get("datasource") or p.get("datasource") or {}
                uid = ds.get("uid")
                if uid not in sources or sources[uid]["type"] != ds.get("type"):
                    bad(f"{dash.name}: panel {p['title']!r} uses datasource {uid!r}, not one provisioned")
                elif ds.get("type") == "prometheus" and not t.get("expr"):
                    bad(f"{dash.name}: panel {p['title']!r} query {t.get('refId')} has no PromQL expr")


# ---------------------------------------------------------------- k8s

# The k8s workloads that run a compose service's command, by another name.
K8S_AS_COMPOSE = {"train": "trainer", "retrain": "trainer"}


def container_script(command):
    """A container command as a comparable value: a bash -c script, or the argv."""
    if command and command[0] in ("bash", "/bin/bash") and "-c" in command:
        return command[command.index("-c") + 1]
    return command


def metrics_port(container, where):
    """The port a container's cdn commands serve /metrics on (--metrics-addr), or None."""
    for a in argvs_of(container.get("command", []) + container.get("args", []), where):
        for i, t in enumerate(a):
            if t == "--metrics-addr" and i + 1 < len(a):
                return int(a[i + 1].rsplit(":", 1)[1])
            if t.startswith("--metrics-addr="):
                return int(t.rsplit(":", 1)[1])
    return None


def check_probes(where, doc, c):
    """A container that serves --metrics-addr: its port named metrics, a liveness probe on
    /healthz and a readiness probe on /readyz there, the pod's Prometheus annotations naming
    it. One that does not serves nothing to probe."""
    port = metrics_port(c, where)
    probes = [k for k in ("livenessProbe", "readinessProbe", "startupProbe") if k in c]
    if port is None:
        if probes:
            bad(f"{where}: container {c['name']} has {', '.join(probes)} but serves no --metrics-addr")
        return
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
    if ports.get("metrics") != port:
        bad(f"{where}: container {c['name']} serves --metrics-addr on {port}, its port 'metrics' is "
            f"{ports.get('metrics')}")
    for kind, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = (c.get(kind) or {}).get("httpGet") or {}
        if get.get("path") != path or get.get("port") not in ("metrics", port):
            bad(f"{where}: container {c['name']} has no {kind} on {path} of its metrics port "
                f"(it has {get or 'none'})")
    live = c.get("livenessProbe") or {}
    # /healthz turns 503 after --health-timeout (30 s): a restart after a minute of it at least
    if live and live.get("periodSeconds", 10) * live.get("failureThreshold", 3) < 30:
        bad(f"{where}: container {c['name']}'s liveness probe restarts it within "
            f"{live.get('periodSeconds', 10) * live.get('failureThreshold', 3)} s, under --health-timeout")
    if doc["kind"] == "Deployment":
        ann = doc["spec"]["template"]["metadata"].get("annotations") or {}
        if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/port") != str(port) \
                or ann.get("prometheus.io/path") != "/metrics":
            bad(f"{where}: the pod's prometheus.io annotations do not name port {port} and /metrics")


def check_k8s(repo, version):
    base = Path(repo) / "deploy" / "k8s"
    kust, docs = k8s_docs(repo)
    for g in kust.get("configMapGenerator", []):
        for f in g.get("files", []):
            if not (base / f.split("=")[-1]).is_file():
                bad(f"k8s: configMapGenerator file {f} is missing")
    if (base / "cdn.toml").read_bytes() != (Path(repo) / "deploy" / "cdn.toml").read_bytes():
        bad("k8s: deploy/k8s/cdn.toml differs from deploy/cdn.toml")
    tags = {i["name"]: i.get("newTag") for i in kust.get("images", [])}
    if tags.get("cdn") != version:
        bad(f"k8s: the cdn image tag is {tags.get('cdn')!r}, not the project version {version}")
    configmaps = {g["name"] for g in kust.get("configMapGenerator", [])}
    pvcs = {d["metadata"]["name"] for _, d in docs if d["kind"] == "PersistentVolumeClaim"}
    deployments = {d["metadata"]["name"]: d for _, d in docs if d["kind"] == "Deployment"}
    topics = broker_topics(repo)
    for _, d in docs:
        if "apiVersion" not in d or "kind" not in d or "name" not in d.get("metadata", {}):
            bad(f"k8s: a document without apiVersion, kind or metadata.name: {d}")
            continue
        where = f"k8s {d['kind']} {d['metadata']['name']}"
        spec = pod_spec(d)
        if d["kind"] == "Deployment":
            sel = d["spec"]["selector"]["matchLabels"]
            labels = d["spec"]["template"]["metadata"]["labels"]
            if any(labels.get(k) != v for k, v in sel.items()):
                bad(f"{where}: the selector does not match the pod's labels")
        if spec is None:
            continue
        vols = {v["name"]: v for v in spec.get("volumes", [])}
        for v in vols.values():
            if "configMap" in v and v["configMap"]["name"] not in configmaps:
                bad(f"{where}: volume {v['name']} names ConfigMap {v['configMap']['name']}, not generated")
            if "persistentVolumeClaim" in v and v["persistentVolumeClaim"]["claimName"] not in pvcs:
                bad(f"{where}: volume {v['name']} claims {v['persistentVolumeClaim']['claimName']}, not defined")
        if not (spec.get("securityContext") or {}).get("runAsNonRoot"):
            bad(f"{where}: pods may run as root")
        for c in spec["containers"]:
            mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
            for m in mounts:
                if m not in vols:
                    bad(f"{where}: container {c['name']} mounts {m}, which is not a volume")
            if c["image"].split(":")[0] == "cdn":
                env = {e["name"]: e.get("value") for e in c.get("env", [])}
                if env.get("CDN_CONFIG") != "/etc/cdn/cdn.toml":
                    bad(f"{where}: CDN_CONFIG is not /etc/cdn/cdn.toml")
                cfg = [m for m in mounts.values() if m["mountPath"] == "/etc/cdn"
                       and "configMap" in vols.get(m["name"], {})]
                if not cfg:
                    bad(f"{where}: the ConfigMap cdn-config is not mounted at /etc/cdn")
            if "resources" not in c:
                bad(f"{where}: container {c['name']} has no resources")
            check_probes(where, d, c)
        # Replicas in one consumer group: no more than the partitions they share.
        if d["kind"] == "Deployment":
            for c in spec["containers"]:
                for a in argvs_of(c.get("command", []) + c.get("args", []), where):
                    if "-G" in a or "--group" in a:
                        ins = [t[6:] for t in a if t.startswith("kafka:") and a[a.index(t) - 1] not in
                               ("-o", "--output", "--rejects")]
                        for t in ins:
                            if d["spec"].get("replicas", 1) > topics.get(t, 0):
                                bad(f"{where}: {d['spec']['replicas']} replicas, {t} has {topics.get(t)} partitions")
    # The model's rollout and rollback, and every workload that is also a compose service, run
    # the compose service's command ($$ unescaped): the one deploy.bats runs natively.
    services = compose_services(repo)
    names = {d["metadata"]["name"] for _, d in docs if pod_spec(d) is not None}
    for want in ("train", "retrain", "promote", "rollback", "predictor"):
        if want not in names:
            bad(f"k8s: no workload {want}")
    for _, d in docs:
        spec = pod_spec(d)
        name = d["metadata"].get("name")
        svc = services.get(K8S_AS_COMPOSE.get(name, name))
        if spec is None or svc is None or "command" not in svc:
            continue
        want = container_script(svc["command"])
        want = want.replace("$$", "$") if isinstance(want, str) else want
        for c in spec["containers"]:
            if container_script(c.get("command", [])) != want:
                bad(f"k8s {d['kind']} {name}: its command is not the compose service's "
                    f"{K8S_AS_COMPOSE.get(name, name)}")
    # Distributed training: the Indexed Job's pods, the workers they say, the tracker's count
    # and the Service their CDN_TRACKER names agree.
    services_k8s = {d["metadata"]["name"]: d for _, d in docs if d["kind"] == "Service"}
    for _, d in docs:
        spec = pod_spec(d)
        if d["kind"] != "Job" or spec is None:
            continue
        for c in spec["containers"]:
            env = {e["name"]: e.get("value") for e in c.get("env", [])}
            if "CDN_TRACKER" not in env:
                continue
            where = f"k8s Job {d['metadata']['name']}"
            js = d["spec"]
            if js.get("completionMode") != "Indexed":
                bad(f"{where}: distributed training wants an Indexed Job (the rank is its index)")
            workers = int(env.get("CDN_WORKERS") or 0)
            if not (js.get("completions") == js.get("parallelism") == workers):
                bad(f"{where}: completions {js.get('completions')}, parallelism "
                    f"{js.get('parallelism')} and CDN_WORKERS {workers} differ")
            host, _, port = env["CDN_TRACKER"].rpartition(":")
            svc = services_k8s.get(host)
            if svc is None or int(port) not in [p["port"] for p in svc["spec"]["ports"]]:
                bad(f"{where}: CDN_TRACKER {env['CDN_TRACKER']} is no Service port of the manifests")
                continue
            tracker = deployments.get(host)
            args = [] if tracker is None else pod_spec(tracker)["containers"][0].get("command", [])
            if "--workers" not in args or args[args.index("--workers") + 1] != str(workers):
                bad(f"{where}: the tracker Deployment {host} does not wait for {workers} workers")
    for _, h in docs:
        if h["kind"] != "HorizontalPodAutoscaler":
            continue
        target = deployments.get(h["spec"]["scaleTargetRef"]["name"])
        if target is None:
            bad(f"k8s HPA {h['metadata']['name']}: scales a Deployment that does not exist")
            continue
        spec = pod_spec(target)
        for c in spec["containers"]:
            for a in argvs_of(c.get("command", []), "hpa"):
                for t in [t[6:] for t in a if t.startswith("kafka:")][:1]:
                    if h["spec"]["maxReplicas"] > topics.get(t, 0):
                        bad(f"k8s HPA {h['metadata']['name']}: maxReplicas {h['spec']['maxReplicas']}"
                            f" above the {topics.get(t)} partitions of {t}")
                if not all("requests" in c.get("resources", {}) and "cpu" in c["resources"]["requests"]
                           for c in spec["containers"]):
                    bad(f"k8s HPA {h['metadata']['name']}: scales on CPU, the pods request none")


# ---------------------------------------------------------------- Dockerfile and setup.sh


def dockerfile_packages(repo):
    """Packages each stage installs with apt-get install: {stage: [packages]}."""
    text = (Path(repo) / "deploy" / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    stages, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^FROM\s+\S+(?:\s+AS\s+(\S+))?", line, re.I)
        if m:
            cur = m.group(1) or str(len(stages))
            stages[cur] = []
            continue
        if cur and re.match(r"^RUN\s", line):
            for part in re.split(r"&&|;", line):
                toks = part.split()
                if "apt-get" in toks and "install" in toks:
                    after = toks[toks.index("install") + 1:]
                    stages[cur] += [t for t in after if not t.startswith("-")]
    return stages


def setup_build_packages(repo):
    text = (Path(repo) / "scripts" / "setup.sh").read_text()
    body = re.search(r"^packages=\(\n(.*?)^\)", text, re.M | re.S).group(1)
    out, on = [], False
    for line in body.splitlines():
        line = line.strip()
        if line == "# build":
            on = True
            continue
        if line.startswith("# unit tests"):
            break
        if on and line and not line.startswith("#"):
            out += line.split()
    return out


# ---------------------------------------------------------------- dashboards


def influx(url, db, q):
    qs = urllib.parse.urlencode({"db": db, "q": q, "epoch": "ms"})
    with urllib.request.urlopen(f"{url}/query?{qs}", timeout=30) as r:
        return json.load(r)


def dashboard_targets(files, prometheus):
    """Each query of the dashboards as (where, target): those of the Prometheus datasource
    when `prometheus`, else the others (InfluxDB)."""
    for f in files:
        d = json.loads(Path(f).read_text())
        for p in d["panels"]:
            for t in p.get("targets", []):
                ds = t.get("datasource") or p.get("datasource") or {}
                if (ds.get("type") == "prometheus") == prometheus:
                    yield f"{Path(f).name}: panel {p['title']!r} query {t.get('refId')}", t


def dashboard_queries(url, db, files):
    n = 0
    for where, t in dashboard_targets(files, False):
        q = t.get("query")
        if not t.get("rawQuery") or not q:
            bad(f"{where}: not a raw InfluxQL query")
            continue
        n += 1
        ms = set(re.findall(r'FROM\s+"?([A-Za-z_][\w]*)"?', q))
        if not ms:
            bad(f"{where}: names no measurement")
            continue
        lo, hi = None, None
        for m in ms:
            for order in ("ASC", "DESC"):
                r = influx(url, db, f'SELECT * FROM "{m}" ORDER BY time {order} LIMIT 1')
                s = r["results"][0].get("series")
                if s:
                    tm = s[0]["values"][0][0]
                    lo = tm if lo is None else min(lo, tm)
                    hi = tm if hi is None else max(hi, tm)
        if lo is None:
            bad(f"{where}: the measurements {sorted(ms)} hold no points")
            continue
        hi += 1
        interval = max(1000, (hi - lo) // 100)
        sq = (q.replace("$timeFilter", f"time >= {lo}ms and time <= {hi}ms")
              .replace("$__interval_ms", str(interval))
              .replace("$__interval", f"{interval}ms"))
        if "$" in sq:
            bad(f"{where}: a Grafana macro this check does not know: {sq}")
            continue
        r = influx(url, db, sq)["results"][0]
        if "error" in r:
            bad(f"{where}: InfluxDB says {r['error']}: {sq}")
            continue
        series = r.get("series") or []
        values = [v for s in series for row in s["values"] for v in row[1:] if v is not None]
        if not values:
            bad(f"{where}: no data: {sq}")
            continue
        print(f"{where}: {len(series)} series, {len(values)} values")
    if n == 0:
        bad("no dashboard queries")


def promql_metrics(expr):
    """The cdn_ metric names a PromQL expression reads, a histogram's series by its name."""
    return {re.sub(r"_(bucket|sum|count)$", "", m) for m in re.findall(r"\bcdn_[a-z0-9_]+", expr)}


def exported_metrics(repo, names):
    """Those of `names` that a C++ source of common/ or cmd/ holds as a whole word."""
    text = "\n".join(f.read_text(errors="replace") for d in ("common", "cmd")
                     for f in sorted((Path(repo) / d).rglob("*.[ch]pp")))
    return {n for n in names if re.search(rf"(?<![A-Za-z0-9_]){n}(?![A-Za-z0-9_])", text)}


def dashboard_metrics(repo):
    files = sorted((Path(repo) / "deploy" / "grafana" / "dashboards").glob("*.json"))
    used = {}
    for where, t in dashboard_targets(files, True):
        for m in promql_metrics(t.get("expr", "")):
            used.setdefault(m, where)
    exported = exported_metrics(repo, set(used) | METRICS_NOT_YET_IN_CODE)
    for m in sorted(used):
        if m in METRICS_NOT_YET_IN_CODE:
            if m in exported:
                bad(f"{m} is exported by the code now: take it out of METRICS_NOT_YET_IN_CODE")
            print(f"{m} (not yet in the code)")
        elif m not in exported:
            bad(f"{used[m]}: {m} is exported nowhere in common/ or cmd/")
        else:
            print(m)
    if not used:
        bad("no cdn_ metrics in the dashboards' PromQL")


def dashboard_promql(url, files):
    n = 0
    for where, t in dashboard_targets(files, True):
        q = t.get("expr", "")
        pending = promql_metrics(q) & METRICS_NOT_YET_IN_CODE
        if pending:
            print(f"{where}: skipped, {', '.join(sorted(pending))} not yet in the code")
            continue
        if "$" in q:
            bad(f"{where}: a Grafana macro this check does not know: {q}")
            continue
        n += 1
        qs = urllib.parse.urlencode({"query": q})
        with urllib.request.urlopen(f"{url}/api/v1/query?{qs}", timeout=30) as r:
            answer = json.load(r)
        if answer.get("status") != "success":
            bad(f"{where}: Prometheus says {answer.get('error')}: {q}")
            continue
        result = answer["data"]["result"]
        if not result:
            bad(f"{where}: no data: {q}")
            continue
        print(f"{where}: {len(result)} series")
    if n == 0:
        bad("no PromQL queries in the dashboards")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "compose":
        check_compose(*args)
    elif cmd == "k8s":
        check_k8s(*args)
    elif cmd == "commands":
        for where, a in all_argvs(args[0]):
            print(json.dumps({"where": where, "argv": a}))
    elif cmd == "check-argv":
        cdn, toml_path, argv = args[0], args[1], json.loads(args[2])
        check_argv(cdn, toml_path, argv)
        repo_topics = broker_topics(Path(__file__).resolve().parents[2])
        for where, t in topics_used:
            if t not in repo_topics:
                bad(f"{where}: topic {t} is not one of cdn.toml's [broker] topics")
    elif cmd == "dockerfile":
        stages = dockerfile_packages(args[0])
        print("\n".join(stages.get("build", [])))
        print("--")
        print("\n".join(stages.get("runtime", [])))
    elif cmd == "setup-build-packages":
        print("\n".join(setup_build_packages(args[0])))
    elif cmd == "dashboard-queries":
        dashboard_queries(args[0], args[1], args[2:])
    elif cmd == "dashboard-promql":
        dashboard_promql(args[0], args[1:])
    elif cmd == "dashboard-metrics":
        dashboard_metrics(args[0])
    else:
        bad(f"unknown command {cmd}")
    finish()


if __name__ == "__main__":
    main()
