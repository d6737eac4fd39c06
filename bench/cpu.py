"""CPU time used so far by the parts of the stack, from /proc, as JSON (bench/run takes one
before and one after each measured scenario; bench/report.py divides the difference by the
successful requests). CPU per request is steadier than throughput on a shared machine: other
people's processes slow a request down but do not add to its CPU time.

    python bench/cpu.py WEB_PGID CELERY_PGID SMTP_PGID

Categories: gunicorn (master and workers), postgres_backends (by process id, the backends
serving the portal_bench database; other databases on the shared server are left out),
redis, celery (worker and its pool), smtp (the sink); "machine_busy" and "machine_total" are
all cores' busy and total time from /proc/stat. Values are seconds.
"""

import json
import os
import sys


def main():
    groups = {int(sys.argv[1]): "gunicorn", int(sys.argv[2]): "celery", int(sys.argv[3]): "smtp"}
    ticks = os.sysconf("SC_CLK_TCK")
    used = dict.fromkeys(["gunicorn", "redis", "celery", "smtp"], 0)
    # Per backend: a connection that closes takes its CPU time with it, so the difference
    # between two snapshots is taken backend by backend (bench/report.py).
    backends = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:  # gone since the listing
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        # After "pid (comm) ": state ppid pgrp ... utime(11) stime(12) cutime(13) cstime(14),
        # counted from 0; cutime/cstime hold children already gone (celery's, gunicorn's).
        pgrp = int(fields[2])
        cpu = sum(int(value) for value in fields[11:15])
        if pgrp in groups:
            used[groups[pgrp]] += cpu
        elif comm.startswith("postgres"):
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    title = handle.read()
            except OSError:
                continue
            if b" portal_bench " in title:  # "postgres: USER DATABASE HOST(PORT) STATE"
                backends[entry] = int(fields[11]) + int(fields[12])
        elif comm.startswith("redis-server"):
            used["redis"] += cpu
    with open("/proc/stat") as handle:
        totals = [int(value) for value in handle.readline().split()[1:]]
    idle = totals[3] + totals[4]  # idle + iowait
    result = {name: value / ticks for name, value in used.items()}
    result["postgres_backends"] = {pid: value / ticks for pid, value in backends.items()}
    result["machine_total"] = sum(totals[:8]) / ticks
    result["machine_busy"] = (sum(totals[:8]) - idle) / ticks
    print(json.dumps(result))


if __name__ == "__main__":
    main()
