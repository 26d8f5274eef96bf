"""Python's jsonschema (Debian's python3-jsonschema) over the lines of an NDJSON file, as a
user would write it: json.loads each line, Draft7Validator.is_valid with the format checker.
Prints "valid N invalid M".

Usage: /usr/bin/python3 bench/jsonschema-lines.py SCHEMA FILE [MAX_LINES]
"""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
limit = int(sys.argv[3]) if len(sys.argv) > 3 else None
v = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
good = bad = 0
with open(sys.argv[2]) as f:
    for n, line in enumerate(f):
        if limit is not None and n >= limit:
            break
        try:
            doc = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if v.is_valid(doc):
            good += 1
        else:
            bad += 1
print("valid %d invalid %d" % (good, bad))
