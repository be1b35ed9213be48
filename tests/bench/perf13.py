#!/usr/bin/env python3
"""perf13.py — helpers of perf13.sh (issue 13 benchmarks).

  perf13.py kv TAG [KEY=VALUE ...] < turnperf output   one JSON line: the tag, turnperf's
                                                       key=value lines (numbers as numbers),
                                                       and the extra KEY=VALUE fields
  perf13.py added RESULTS.jsonl                        adds to every lat row of a server the
                                                       added latency: its RTT percentile minus
                                                       the bare echo's (server "echo") at the same
                                                       point and repetition (added_p50_us, ...);
                                                       rewrites the file in place
"""
import json
import sys


def num(v):
    for f in (int, float):
        try:
            return f(v)
        except ValueError:
            pass
    return v


def kv(tag, extra):
    r = {"tag": tag}
    for line in list(sys.stdin) + extra:
        k, sep, v = line.strip().partition("=")
        if sep and k:
            r[k] = num(v)
    print(json.dumps(r))


PCTS = ("p50", "p90", "p99", "p999", "avg")


def added(path):
    rows = [json.loads(l) for l in open(path) if l.strip().startswith("{")]
    echo = {}
    for r in rows:
        t = r.get("tag", "").split("/")
        if len(t) == 4 and t[0] == "echo" and t[1] == "lat":
            echo[(t[2], t[3])] = r
    for r in rows:
        t = r.get("tag", "").split("/")
        if len(t) != 4 or t[1] != "lat" or t[0] == "echo":
            continue
        e = echo.get((t[2], t[3]))
        for p in PCTS:
            k = f"rtt_{p}_us"
            if e and isinstance(r.get(k), (int, float)) and isinstance(e.get(k), (int, float)):
                r[f"added_{p}_us"] = round(r[k] - e[k], 1)
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "kv":
        kv(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 3 and sys.argv[1] == "added":
        added(sys.argv[2])
    else:
        sys.exit(__doc__)
