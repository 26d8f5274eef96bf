#!/usr/bin/python3
"""Compares the records of an NDJSON file with the points InfluxDB gives back, values and
types exact, for cdn load-influx tests. Works from InfluxDB's own answers, not from cdn's
line protocol:

  influx_roundtrip.py --url URL --db DB --measurement M [--tags a,b] INPUT.ndjson

Every top-level member of each record except the tags and `timestamp` is expected as a field
of the InfluxDB type its JSON value has (integer, float, string, boolean), the tags as tags,
and `timestamp` (RFC 3339) as the time in nanoseconds. Prints each difference and exits 1 if
there is any, else prints "N points match".
"""
import argparse
import json
import re
import sys
import urllib.parse
import urllib.request
from datetime import datetime, timezone

p = argparse.ArgumentParser()
p.add_argument("--url", required=True)
p.add_argument("--db", required=True)
p.add_argument("--measurement", required=True)
p.add_argument("--tags", default="")
p.add_argument("input")
args = p.parse_args()
tags = [t for t in args.tags.split(",") if t]


def query(q):
    url = args.url + "/query?" + urllib.parse.urlencode({"db": args.db, "epoch": "ns", "q": q})
    with urllib.request.urlopen(url) as r:
        res = json.load(r)["results"][0]
    if "error" in res:
        sys.exit("query failed: " + res["error"])
    return res.get("series", [])


def rfc3339_ns(s):
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", s)
    base = datetime.fromisoformat(m.group(1) + ("+00:00" if m.group(3) == "Z" else m.group(3)))
    frac = (m.group(2) or "").ljust(9, "0")[:9]
    return int(base.astimezone(timezone.utc).timestamp()) * 10**9 + int(frac)


def kind(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "float"
    return "string"


expected = {}
with open(args.input) as f:
    for line in f:
        rec = json.loads(line)
        t = rfc3339_ns(rec.pop("timestamp"))
        tagset = tuple(sorted((k, str(rec.pop(k))) for k in tags if k in rec and rec[k] != ""))
        fields = {k: (kind(v), v) for k, v in rec.items() if v is not None}
        key = (tagset, t)
        if key in expected:
            sys.exit("the input has two records with tags %s and time %d" % (tagset, t))
        expected[key] = fields

types = {}
for s in query('SHOW FIELD KEYS FROM "%s"' % args.measurement):
    types.update(dict(s["values"]))

actual = {}
for s in query('SELECT * FROM "%s" GROUP BY *' % args.measurement):
    tagset = tuple(sorted((k, v) for k, v in s.get("tags", {}).items() if v != ""))
    cols = s["columns"]
    for row in s["values"]:
        fields = {}
        for c, v in zip(cols[1:], row[1:]):
            if v is not None:
                fields[c] = (types[c], float(v) if types[c] == "float" else v)
        actual[(tagset, row[0])] = fields

bad = 0
for key in sorted(set(expected) | set(actual), key=repr):
    e, a = expected.get(key), actual.get(key)
    if e != a:
        bad += 1
        if bad <= 10:
            print("point %s: written %s, read back %s" % (key, e, a))
if bad:
    print("%d of %d points differ" % (bad, len(expected)))
    sys.exit(1)
print("%d points match" % len(expected))
