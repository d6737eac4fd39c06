"""CPU time used by the parts of the stack during one measured scenario, from /proc, as JSON
(bench/run starts this before wrk and stops it with SIGTERM after; bench/report.py divides
each part by the successful requests). CPU per request is steadier than throughput on a
shared machine: other people's processes slow a request down but do not add to its CPU.

    python bench/cpu.py OUT.json POSTMASTER_PID DATABASES NAME=PGID [NAME=PGID ...]

DATABASES is a comma-separated list (the portal's and the peer's). Each NAME=PGID is a
process group of ours (gunicorn, the peer's gunicorn, Celery, the SMTP sink): its CPU is
the difference of two snapshots, the exited children included (cutime/cstime).

PostgreSQL is counted as the postmaster's children, not by process title alone (issue 19):
a query that runs in parallel gets "parallel worker for PID n" processes that carry no
database name, live for that one query and are gone before a second snapshot. When a child
exits, the postmaster reaps it and the kernel adds all of its CPU to the postmaster's
cutime/cstime. So every 20 ms this process reads the postmaster's children and its cutime:

- a child whose title names one of DATABASES is ours, and so is a parallel worker whose
  leader is ours; every other child (other people's databases, the server's own
  processes) is not;
- a child alive at the end counts its CPU since the start (or since it was born);
- a child that exited counts what the postmaster's cutime grew by when it was reaped, less
  its CPU at the start. The growth of one 20 ms interval goes to the children seen to
  exit in it: what each was last seen to have used, and the rest (the CPU of their last
  moments) shared equally among them, so all of it is ours when all of them were ours;
- a child born and reaped within one interval without being seen at all (a query's
  parallel worker that lived less than 20 ms, or someone else's) cannot be told apart:
  its CPU is reported as "postgres_unattributed", not added to ours.

Output, in seconds over the window: one entry per NAME, "postgres" (ours),
"postgres_others", "postgres_unattributed", "postgres_workers_seen" (our parallel workers
seen, a count), "redis" (every redis-server process: the server is shared),
"machine_total" and "machine_busy" (all cores, from /proc/stat) and "seconds" (wall).
"""

import json
import os
import re
import signal
import sys
import time

POLL_SECONDS = 0.02
# Backends live long (Django keeps its connections 60 s): their CPU is read every tenth
# poll. Parallel workers and children whose title is not set yet are read at every poll.
LONG_LIVED_EVERY = 10
TICKS = os.sysconf("SC_CLK_TCK")
WORKER = re.compile(rb"parallel worker for PID (\d+)")


def stat_fields(pid) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            text = handle.read()
    except OSError:  # gone since the listing
        return None
    # After "pid (comm) ": state ppid pgrp ... utime(11) stime(12) cutime(13) cstime(14).
    return text[text.rindex(")") + 2 :].split()


def own_cpu(pid) -> int | None:
    fields = stat_fields(pid)
    return None if fields is None else int(fields[11]) + int(fields[12])


def groups_cpu(groups: dict[int, str]) -> dict[str, int]:
    """Ticks used by each of our process groups (exited children included), and Redis."""
    used = dict.fromkeys([*groups.values(), "redis"], 0)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = stat_fields(entry)
        if fields is None:
            continue
        pgrp = int(fields[2])
        if pgrp in groups:
            used[groups[pgrp]] += sum(int(value) for value in fields[11:15])
        else:
            try:
                with open(f"/proc/{entry}/comm") as handle:
                    if handle.read().startswith("redis-server"):
                        used["redis"] += sum(int(value) for value in fields[11:15])
            except OSError:
                continue
    return used


def machine() -> tuple[int, int]:
    with open("/proc/stat") as handle:
        totals = [int(value) for value in handle.readline().split()[1:]]
    return sum(totals[:8]), sum(totals[:8]) - totals[3] - totals[4]  # total, busy


class Postmaster:
    """The postmaster's children, followed poll by poll (see the module docstring)."""

    def __init__(self, pid: int, databases: list[str]):
        self.pid = pid
        self.names = [f" {name} ".encode() for name in databases]
        self.children: dict[int, dict] = {}  # pid -> {kind, base, last}
        self.ours = 0
        self.others = 0
        self.unattributed = 0
        self.workers_seen = 0
        self.polls = 0
        self.reaped = self._reaped()
        for pid in self._listing():  # alive at the start: counted from what they had used
            child = self._new(pid, born_now=False)
            if child is not None:
                self.children[pid] = child

    def _reaped(self) -> int:
        fields = stat_fields(self.pid)
        if fields is None:
            raise SystemExit(f"bench/cpu.py: no postmaster with pid {self.pid}")
        return int(fields[13]) + int(fields[14])

    def _listing(self) -> set[int]:
        try:
            with open(f"/proc/{self.pid}/task/{self.pid}/children") as handle:
                return {int(pid) for pid in handle.read().split()}
        except OSError:
            return set()

    def _classify(self, child: dict, pid: int) -> None:
        """Set the child's kind ("ours", "others" or, title not set yet, "unknown")."""
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                title = handle.read()
        except OSError:
            return
        if not title.startswith(b"postgres:"):  # just forked: no title of its own yet
            return
        worker = WORKER.search(title)
        if any(name in title for name in self.names):
            child["kind"] = "ours"
        elif worker:
            leader = self.children.get(int(worker.group(1)))
            child["kind"] = "ours" if leader and leader["kind"] == "ours" else "others"
        else:
            child["kind"] = "others"
        child["worker"] = worker is not None
        if child["worker"] and child["kind"] == "ours":
            self.workers_seen += 1

    def _new(self, pid, *, born_now: bool) -> dict | None:
        cpu = own_cpu(pid)
        if cpu is None:
            return None
        child = {"kind": "unknown", "base": 0 if born_now else cpu, "last": cpu, "worker": False}
        self._classify(child, pid)
        return child

    def poll(self) -> None:
        self.polls += 1
        reaped = self._reaped()
        listing = self._listing()
        exited = [pid for pid in self.children if pid not in listing]
        for pid in listing:
            child = self.children.get(pid)
            if child is None:
                child = self._new(pid, born_now=True)
                if child is not None:
                    self.children[pid] = child
                continue
            if child["kind"] == "unknown":
                self._classify(child, pid)
            if child["kind"] == "unknown" or child["worker"] or self.polls % LONG_LIVED_EVERY == 0:
                cpu = own_cpu(pid)
                if cpu is not None:
                    child["last"] = cpu
        self._settle(reaped - self.reaped, [self.children.pop(pid) for pid in exited])
        self.reaped = reaped

    def _settle(self, grown: int, exited: list[dict]) -> None:
        """Share what the postmaster reaped in one interval among the children that left."""
        if not exited:
            self.unattributed += grown
            return
        seen = sum(child["last"] for child in exited)
        rest = max(grown - seen, 0) / len(exited)
        for child in exited:  # the last moments of those that left, shared by count
            self._add(child["kind"], child["last"] - child["base"] + rest)

    def _add(self, kind: str, ticks: float) -> None:
        if kind == "ours":
            self.ours += ticks
        elif kind == "others":
            self.others += ticks
        else:  # reaped before it had a title of its own
            self.unattributed += ticks

    def finish(self) -> None:
        self.poll()
        for pid, child in self.children.items():
            cpu = own_cpu(pid)
            self._add(child["kind"], (child["last"] if cpu is None else cpu) - child["base"])


def main():
    out, postmaster_pid, databases = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
    groups = {}
    for argument in sys.argv[4:]:
        name, _, pgid = argument.partition("=")
        groups[int(pgid)] = name
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    started = time.monotonic()
    machine_before = machine()
    groups_before = groups_cpu(groups)
    postmaster = Postmaster(postmaster_pid, databases)
    while not stop:
        time.sleep(POLL_SECONDS)
        postmaster.poll()
    postmaster.finish()
    groups_after = groups_cpu(groups)
    machine_after = machine()
    result = {name: (groups_after[name] - groups_before[name]) / TICKS for name in groups_after}
    result.update(
        postgres=postmaster.ours / TICKS,
        postgres_others=postmaster.others / TICKS,
        postgres_unattributed=postmaster.unattributed / TICKS,
        postgres_workers_seen=postmaster.workers_seen,
        machine_total=(machine_after[0] - machine_before[0]) / TICKS,
        machine_busy=(machine_after[1] - machine_before[1]) / TICKS,
        seconds=time.monotonic() - started,
    )
    with open(out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
