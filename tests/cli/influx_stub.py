#!/usr/bin/python3
"""A stand-in for InfluxDB's write endpoints, for cdn load-influx tests: it answers as told
and logs every request as one JSON line (path, query, headers, the lines of the body after
gzip, the status it answered, the client's port). Binds to 127.0.0.1 only.

  influx_stub.py --port-file F --log F [--script 503,503,...] [--max-lines N]
                 [--refuse TEXT] [--retry-after S] [--status N]

--script     statuses for the first requests, in order; then --status (default 204)
--max-lines  answer 413 to a body of more lines than N
--refuse     answer 400 naming the lines that contain TEXT, as InfluxDB 1.x words a partial
             write ("unable to parse 'LINE': ..."); the other lines count as written
--retry-after  send Retry-After: S with 429 and 503 answers
--query-status  the status of every /query answer (default 200: an empty database, as
             InfluxDB answers a SELECT of a measurement it does not hold); queries are not
             logged and take no status of --script
"""
import argparse
import gzip
import http.server
import json
import os
import sys
import threading

p = argparse.ArgumentParser()
p.add_argument("--port-file", required=True)
p.add_argument("--log", required=True)
p.add_argument("--script", default="")
p.add_argument("--max-lines", type=int, default=0)
p.add_argument("--refuse", default="")
p.add_argument("--retry-after", default="")
p.add_argument("--status", type=int, default=204)
p.add_argument("--query-status", type=int, default=200)
args = p.parse_args()
script = [int(s) for s in args.script.split(",") if s]
log = open(args.log, "a", buffering=1)
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path.partition("?")[0] == "/query":
            return self.answer_query()
        lines = body.decode("utf-8", "replace").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        with lock:
            status = script.pop(0) if script else args.status
        answer = b""
        if status == 204 and args.max_lines and len(lines) > args.max_lines:
            status = 413
            answer = b'{"error":"Request Entity Too Large"}'
        elif status == 204 and args.refuse and any(args.refuse in l for l in lines):
            bad = [l for l in lines if args.refuse in l]
            msg = "partial write: " + "\n".join(
                "unable to parse '%s': invalid field format" % l for l in bad)
            answer = json.dumps({"error": msg}).encode()
            status = 400
        elif status >= 400:
            answer = json.dumps({"error": "stub says %d" % status}).encode()
        path, _, query = self.path.partition("?")
        with lock:
            log.write(json.dumps({
                "path": path, "query": query, "status": status,
                "encoding": self.headers.get("Content-Encoding", ""),
                "auth": self.headers.get("Authorization", ""),
                "client_port": self.client_address[1], "lines": lines}) + "\n")
        self.send_response(status)
        if status in (429, 503) and args.retry_after:
            self.send_header("Retry-After", args.retry_after)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def answer_query(self):
        status = args.query_status
        if status == 200:
            answer = b'{"results":[{"statement_id":0}]}'
        else:
            answer = json.dumps({"error": "stub says %d" % status}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(args.port_file + ".tmp", args.port_file)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
sys.exit(0)
