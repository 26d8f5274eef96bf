"""Checks the runs of one command over the hostile inputs of hostile.bats against the promise
every command that reads records keeps.

Usage: hostile_check.py DIR MODE

DIR holds one directory per case (the input's name), each with: rc (the exit status), out (the
command's standard output), err (its standard error, --log-format json), rej (the --rejects
file, when the command wrote one), want (the records the input holds: a number, '-' when the
command cannot know, or 'error' when the input cannot be read and the run must fail) and file
(the input's path). MODE says what standard output holds: 'records' (one line per record out),
'points' (line protocol: one point per record out, a string value may hold a newline),
'other' (a table or nothing), 'check' (sort --check: no summary, nothing on standard output).

Prints one line per broken promise, nothing when every case keeps it:
- the exit status is 0, 1, 2 or 3: not 124 (the run hung and `timeout` stopped it), not a
  signal (128 + N);
- no sanitizer report on standard error;
- status 0 or 1: the summary says in = out + rejected, 1 exactly when something was rejected,
  and `in` is the records the input holds; the rejects file has one line per record
  rejected; in MODE 'records' standard output has one line per record out;
- every line of the rejects file is a JSON object with a non-empty "reason";
- a rejected record that is JSON holding a number past a 64-bit integer or a double is not
  called invalid JSON: its reason is "number out of range: POINTER holds ...", and POINTER
  leads to such a number;
- status 2 or 3: an error message names the input; an input that cannot be read gives 3;
  an error that counts N rejected leaves N lines in the rejects file.
"""

import json
import os
import re
import sys


def lines_of(path):
    """The lines of a file as bytes, without their '\\n' (a last line without one counts)."""
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        return []
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    return parts


def points_of(path):
    """The points of a line protocol file: a newline ends one, except inside the double quotes
    of a string field value (which carries newlines as they are)."""
    with open(path, "rb") as f:
        data = f.read()
    n = 0
    section = 0  # 0: measurement and tags, 1: fields, 2: the time
    quoted = escaped = False
    started = False
    for c in data:
        ch = chr(c)
        if escaped:
            escaped = False
            continue
        if ch == "\\":
            escaped = True
            started = True
            continue
        if quoted:
            if ch == '"':
                quoted = False
            continue
        if ch == "\n":
            n += started
            section, started = 0, False
            continue
        started = True
        if ch == " ":
            section = min(section + 1, 2)
        elif ch == '"' and section == 1:
            quoted = True
    return n + started


class _NotStrict(ValueError):
    pass


def out_of_range(text):
    """For a record that is JSON (strict: no NaN or Infinity), whether it holds a number past
    a 64-bit integer (signed when negative) or a double, and the record; None when it is not
    JSON."""
    found = []

    def parse_int(s):
        v = int(s)
        if not -(2**63) <= v < 2**64:
            found.append(s)
        return v

    def parse_float(s):
        v = float(s)
        if v in (float("inf"), float("-inf")):
            found.append(s)
        return v

    def parse_constant(s):
        raise _NotStrict(s)

    try:
        doc = json.loads(text, parse_int=parse_int, parse_float=parse_float,
                         parse_constant=parse_constant)
    except (ValueError, RecursionError):
        return None
    return bool(found), doc


def points_out_of_range(doc, pointer):
    """Whether the JSON Pointer leads, in doc, to a number out of range."""
    if pointer == "the value":
        v = doc
    else:
        v = doc
        for seg in pointer.split("/")[1:]:
            seg = seg.replace("~1", "/").replace("~0", "~")
            if isinstance(v, dict) and seg in v:
                v = v[seg]
            elif isinstance(v, list) and seg.isdigit() and int(seg) < len(v):
                v = v[int(seg)]
            else:
                return False
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return not -(2**63) <= v < 2**64
    return isinstance(v, float) and v in (float("inf"), float("-inf"))


def check_case(case, d, mode):
    bad = []

    def say(msg):
        bad.append(f"{case}: {msg}")

    rc = int(open(os.path.join(d, "rc")).read().strip())
    want = open(os.path.join(d, "want")).read().strip()
    name = os.path.basename(open(os.path.join(d, "file")).read().strip())
    err = open(os.path.join(d, "err"), "rb").read().decode("utf-8", "replace")
    tail = " | ".join(err.strip().splitlines()[-2:])[:400]
    if rc == 124:
        say(f"hung: stopped by timeout after 30 s; stderr: {tail}")
        return bad
    if rc > 3:
        say(f"exit status {rc} (a signal or an unknown status); stderr: {tail}")
        return bad
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "ThreadSanitizer"):
        if marker in err:
            say(f"a sanitizer report ({marker}): {tail}")
    entries = []
    for line in err.splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            say(f"a line of stderr is not JSON under --log-format json: {line[:200]!r}")
    summaries = [e for e in entries if e.get("level") == "summary" and "in" in e]
    errors = [e for e in entries if e.get("level") == "error"]

    rej = lines_of(os.path.join(d, "rej"))
    for i, line in enumerate(rej or []):
        try:
            r = json.loads(line)
        except ValueError:
            say(f"reject line {i + 1} is not JSON: {line[:200]!r}")
            continue
        if not isinstance(r, dict) or not isinstance(r.get("reason"), str) or not r["reason"]:
            say(f"reject line {i + 1} has no reason: {line[:200]!r}")
            continue
        reason = r["reason"]
        parsed = out_of_range(r["record"]) if isinstance(r.get("record"), str) else None
        if parsed and parsed[0] and reason.startswith(("invalid JSON", "not JSON")):
            say(f"reject line {i + 1} calls JSON with a number out of range invalid: {reason[:200]!r}")
        m = re.match(r"number out of range: (/.*?|the value) holds ", reason)
        if reason.startswith("number out of range") and not (
                m and parsed and points_out_of_range(parsed[1], m.group(1))):
            say(f"reject line {i + 1}: the reason points at no number out of range: "
                f"{reason[:200]!r}")

    if rc >= 2:
        if not errors:
            say(f"exit status {rc} without an error message; stderr: {tail}")
        elif not any(name in e.get("msg", "") for e in errors):
            say(f"the error does not name the input '{name}': {errors[-1].get('msg', '')[:300]}")
        if want == "error" and rc != 3:
            say(f"an input that cannot be read gave status {rc}, not 3")
        # An error that counts rejects (eval, train: no record left) keeps them, whole.
        for e in errors:
            m = re.search(r"\((\d+) read, (\d+) rejected", e.get("msg", ""))
            if m and int(m.group(2)) != len(rej or []):
                say(f"the error counts {m.group(2)} rejected, the rejects file has "
                    f"{len(rej or [])} lines")
        return bad
    if want == "error":
        say(f"status {rc} for an input that cannot be read (it must fail with 3)")
    if mode == "check":
        if rej is not None and rc == 0 and rej:
            say(f"status 0 with {len(rej)} rejects")
        return bad
    if not summaries:
        say(f"status {rc} without a summary; stderr: {tail}")
        return bad
    s = summaries[-1]
    n_in, n_out, n_rej = s["in"], s["out"], s["rejected"]
    if n_in != n_out + n_rej:
        say(f"the summary does not balance: {n_in} in, {n_out} out, {n_rej} rejected")
    if want not in ("-", "error") and n_in != int(want):
        say(f"the summary says {n_in} in; the input holds {want} records")
    n_rej_lines = len(rej) if rej is not None else 0
    if n_rej_lines != n_rej:
        say(f"{n_rej_lines} lines in the rejects file, {n_rej} rejected in the summary")
    if mode == "records":
        n_lines = len(lines_of(os.path.join(d, "out")) or [])
        if n_lines != n_out:
            say(f"{n_lines} lines on stdout, {n_out} out in the summary")
    if mode == "points":
        n_points = points_of(os.path.join(d, "out"))
        if n_points != n_out:
            say(f"{n_points} points on stdout, {n_out} out in the summary")
    if (rc == 1) != (n_rej > 0):
        say(f"status {rc} with {n_rej} rejected")
    return bad


def main():
    root, mode = sys.argv[1], sys.argv[2]
    bad = []
    cases = sorted(os.listdir(root))
    for case in cases:
        bad += check_case(case, os.path.join(root, case), mode)
    for b in bad:
        print(b)
    if not cases:
        print("no case was run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
