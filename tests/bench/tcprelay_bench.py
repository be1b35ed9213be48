"""Helpers of tcprelay-bench.sh (RFC 6062 TCP relay, turnd vs coturn).

  tcprelay_bench.py run --pid PID --tag SERVER/POINT/REP --raw FILE -- CMD...
      runs CMD (turnutils_uclient -T ...), reads the server's CPU time (utime + stime of every
      thread, /proc/PID/stat) and its peak VmHWM around it, parses uclient's totals and prints
      one JSON line: sent/received messages and bytes, server CPU-seconds, relayed bytes per
      server CPU-second, client CPU-seconds, wall seconds, uclient's exit status.
  tcprelay_bench.py report RESULTS.jsonl
      markdown: per point and server the median over repetitions of bytes per server CPU-second
      (and MB/s, loss), and the paired ratio turnd / coturn (same point and repetition).
"""

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

CLK = os.sysconf("SC_CLK_TCK")
TOTALS_RE = re.compile(r"start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", re.M)
BYTES_RE = re.compile(r"start_mclient: tot_send_bytes ~ (\d+), tot_recv_bytes ~ (\d+)\s*$", re.M)
TIME_RE = re.compile(r"Total transmit time is (\d+)")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime, stime (fields 14 and 15)


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def run(argv):
    i = argv.index("--")
    opts = dict(zip(argv[:i:2], argv[1:i:2]))
    cmd = argv[i + 1:]
    pid = int(opts["--pid"])
    c0, t0 = cpu_seconds(pid), time.monotonic()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(opts["--raw"], "w") as raw:
        rc = subprocess.run(cmd, stdout=raw, stderr=subprocess.STDOUT, timeout=600).returncode
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.monotonic() - t0
    cpu = cpu_seconds(pid) - c0
    out = open(opts["--raw"], errors="replace").read()
    totals, nbytes, ttime = TOTALS_RE.findall(out), BYTES_RE.findall(out), TIME_RE.findall(out)
    sent, recv = map(int, totals[-1]) if totals else (None, None)
    sent_b, recv_b = map(int, nbytes[-1]) if nbytes else (None, None)
    server, point, rep = opts["--tag"].split("/")
    row = {
        "server": server, "point": point, "rep": int(rep), "uclient_rc": rc,
        "sent_msgs": sent, "recv_msgs": recv, "sent_bytes": sent_b, "recv_bytes": recv_b,
        "loss_pct": round(100.0 * (sent - recv) / sent, 3) if sent else None,
        "server_cpu_s": round(cpu, 3), "wall_s": round(wall, 2),
        "transmit_s": int(ttime[-1]) if ttime else None,
        "client_cpu_s": round((ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime), 3),
        "bytes_per_server_cpu_s": round(recv_b / cpu) if recv_b and cpu > 0 else None,
        "server_hwm_kib": vm_hwm_kib(pid),
        "client_cmd": " ".join(cmd),
    }
    print(json.dumps(row))
    return 0


def report(path):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    points = sorted({r["point"] for r in rows}, key=lambda p: [int(x) if x.isdigit() else x
                                                             for x in re.split(r"(\d+)", p)])
    lines = ["| point | server | relayed MB per server CPU-s (median) | relayed MB | server CPU-s | "
             "client CPU-s | loss % | reps | turnd / coturn (paired, median [min-max]) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for p in points:
        by = {}
        for r in rows:
            if r["point"] == p and r["bytes_per_server_cpu_s"]:
                by.setdefault(r["server"], {})[r["rep"]] = r
        ratios = [by["turnd"][k]["bytes_per_server_cpu_s"] / by["coturn"][k]["bytes_per_server_cpu_s"]
                  for k in sorted(set(by.get("turnd", {})) & set(by.get("coturn", {})))]
        for s in ("coturn", "turnd"):
            rs = list(by.get(s, {}).values())
            if not rs:
                continue
            med = lambda k: statistics.median(r[k] for r in rs if r[k] is not None)  # noqa: E731
            ratio = ""
            if s == "turnd" and ratios:
                ratio = "%.2fx [%.2f-%.2f]" % (statistics.median(ratios), min(ratios), max(ratios))
            lines.append("| %s | %s | %.1f | %.1f | %.2f | %.2f | %.2f | %d | %s |" % (
                p, s, med("bytes_per_server_cpu_s") / 1e6, med("recv_bytes") / 1e6,
                med("server_cpu_s"), med("client_cpu_s"), med("loss_pct"), len(rs), ratio))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "run":
        sys.exit(run(sys.argv[2:]))
    if len(sys.argv) == 3 and sys.argv[1] == "report":
        sys.exit(report(sys.argv[2]))
    print(__doc__)
    sys.exit(2)
