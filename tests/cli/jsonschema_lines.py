"""Reference for cdn validate: prints the numbers of the lines of an NDJSON file that are not
valid against a JSON Schema, by Debian's python3-jsonschema (Draft 7, with its format
checker). Debian does not package rfc3339-validator, which jsonschema uses for date-time,
so date-time is checked here the way RFC 3339 defines it. Blank lines are skipped.

Usage: /usr/bin/python3 jsonschema_lines.py SCHEMA FILE
"""
import datetime
import json
import re
import sys

import jsonschema

RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def is_datetime(s):
    if not isinstance(s, str):
        return True
    m = RFC3339.match(s)
    if not m:
        return False
    y, mo, d, h, mi, se = (int(g) for g in m.groups()[:6])
    try:
        datetime.date(y, mo, d)
    except ValueError:
        return False
    if m.group(8) not in ("Z", "z"):
        oh, om = int(m.group(8)[1:3]), int(m.group(8)[4:6])
        if oh > 23 or om > 59:
            return False
    return h <= 23 and mi <= 59 and se <= 60


def main():
    schema = json.load(open(sys.argv[1]))
    checker = jsonschema.FormatChecker()
    checker.checks("date-time")(is_datetime)
    validator = jsonschema.Draft7Validator(schema, format_checker=checker)
    with open(sys.argv[2], encoding="utf-8", errors="surrogateescape") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except ValueError:
                print(number)
                continue
            if not validator.is_valid(doc):
                print(number)


main()
