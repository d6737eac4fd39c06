"""Turns the wrk summaries (var/bench/results/*.json) into the benchmark's table and the
issue-8 targets, each marked PASS or FAIL; with the request-by-request timings of
bench/timing.py (timing-*.json: the public forms' match against miss, the CSV import) and
their issue-13 targets.

    python bench/report.py line FILE CONNECTIONS   one scenario, one line (progress)
    python bench/report.py table DIR               the markdown report
    python bench/report.py slowest DIR             what to profile: the slowest scenario
                                                   that hashes nothing, the slowest page
"""

import json
import sys
from pathlib import Path

LABELS = {
    "sign_in": "(a) password sign-in",
    "home": "(b) signed-in home `/`",
    "list": "(c) holder's list, 50 of 2,000",
    "search": "(d) search in the list `?q=`",
    "guest_home": "(e) guest home `/`",
    "create_smtp_up": "(f) create sub-account, SMTP up",
    "create_smtp_down": "(f) create sub-account, SMTP down",
    "bare": "(g) bare Django view (floor)",
}
PAGES = ["home", "list", "search", "guest_home"]  # "pages that hash nothing"
ORDER = ["sign_in", "home", "list", "search", "guest_home", "create_smtp_up", "create_smtp_down"]
ORDER.append("bare")
# OWASP Password Storage Cheat Sheet, argon2id minimum: m=19 MiB, t=2, p=1.
OWASP_MIN = {"memory_cost_kib": 19 * 1024, "time_cost": 2, "parallelism": 1}


def load(path: Path) -> dict:
    run = json.loads(path.read_text())
    # wrk's Lua hands back empty tables as {} and counts as floats: normalise.
    run["bad"] = {k: int(v) for k, v in (run.get("bad") or {}).items()}
    run["queries"] = {int(k): int(v) for k, v in (run.get("queries") or {}).items()}
    socket = run.get("socket_errors") or {}
    run["socket"] = sum(int(socket.get(k, 0)) for k in ("connect", "read", "write", "timeout"))
    run["rps"] = run["ok"] / run["duration_s"] if run["duration_s"] else 0.0
    run["cpu"] = cpu_per_request(path.with_suffix(".cpu"), run["ok"])
    return run


def cpu_per_request(path: Path, requests: int) -> dict | None:
    """CPU milliseconds per successful request by part of the stack (bench/cpu.py), and how
    busy the whole machine was (stack, wrk and whatever else runs here)."""
    if not path.exists() or not requests:
        return None
    snapshots = json.loads(path.read_text())
    before, after = snapshots["before"], snapshots["after"]
    delta = {key: after[key] - before[key] for key in after if key != "postgres_backends"}
    # Backends that started during the run count from zero; those that ended are lost (a
    # few ms at most: Django keeps its connections for DATABASE_CONN_MAX_AGE).
    earlier = before["postgres_backends"]
    delta["postgres"] = sum(
        used - earlier.get(pid, 0.0) for pid, used in after["postgres_backends"].items()
    )
    parts = ("gunicorn", "postgres", "redis", "celery", "smtp")
    result = {part: delta[part] * 1000 / requests for part in parts}
    total = delta["machine_total"] or 1
    result["busy"] = delta["machine_busy"] / total
    # wrk, the kernel's network work outside these processes, and other people's processes.
    result["other"] = (delta["machine_busy"] - sum(delta[part] for part in parts)) / total
    return result


def cpu_text(run) -> str:
    cpu = run["cpu"]
    if not cpu:
        return "–"
    text = f"{cpu['gunicorn']:.1f} + {cpu['postgres']:.1f}"
    background = cpu["celery"] + cpu["smtp"] + cpu["redis"]
    if background >= 0.5:
        text += f" + {background:.1f}"
    return text


def busy_text(run) -> str:
    cpu = run["cpu"]
    return f"{cpu['busy']:.0%} ({cpu['other']:.0%})" if cpu else "–"


def queries_text(run) -> str:
    """The usual number of queries per request, with the range when it varies."""
    histogram = run["queries"]
    if not histogram:
        return "–"
    usual = max(histogram, key=histogram.get)
    low, high = min(histogram), max(histogram)
    return str(usual) if low == high else f"{usual} ({low}–{high})"


def usual_queries(run):
    histogram = run["queries"]
    return max(histogram, key=histogram.get) if histogram else None


def errors_text(run) -> str:
    parts = [f"{count}× {what}" for what, count in sorted(run["bad"].items())]
    if run["socket"]:
        parts.append(f"{run['socket']}× socket")
    return ", ".join(parts) if parts else "0"


def line(path, connections) -> str:
    run = load(Path(path))
    return (
        f"   {run['scenario']:<17} c={connections:<3} {run['rps']:7.1f} req/s  "
        f"p50 {run['p50_ms']:6.1f} ms  p99 {run['p99_ms']:6.1f} ms  "
        f"queries {queries_text(run)}  CPU ms/req {cpu_text(run)}  busy {busy_text(run)}  "
        f"errors {errors_text(run)}"
    )


def meta(directory: Path) -> dict:
    values = {}
    for row in (directory / "meta.env").read_text().splitlines():
        key, _, value = row.partition("=")
        values[key] = value
    return values


def mark(passed: bool) -> str:
    return "**PASS**" if passed else "**FAIL**"


def table(directory: Path) -> str:
    info = meta(directory)
    small, large = int(info["small"]), int(info["large"])
    runs = {}
    for path in directory.glob("*.json"):
        if path.stem.startswith(("hash", "warmup-", "timing-")):
            continue
        phase, _, scenario = path.stem.partition("-")
        runs[(phase, scenario)] = load(path)
    total_requests = sum(
        int(json.loads(p.read_text())["responses"])
        for p in directory.glob("*.json")
        if not p.stem.startswith(("hash", "timing-"))
    )
    total_requests += sum(
        int(json.loads(p.read_text()).get("requests", 1)) for p in directory.glob("timing-*.json")
    )
    # The same verify timed at the first phase: how fast the machine was then.
    small_hash = directory / "hash-small.json"
    verify_small = json.loads(small_hash.read_text())["median_s"] if small_hash.exists() else None
    hashing = json.loads((directory / "hash.json").read_text())
    cores = int(info["cores"])
    verify = hashing["median_s"]
    ceiling = cores / verify
    connections = {
        "sign_in": info["signin_connections"],
    }

    out = []
    title = "Portal benchmark"
    if info["quick"] == "1":
        title += " (QUICK MODE: small data, short runs)"
    out.append(f"## {title}")
    out.append("")
    out.append(
        f"{info['date']}; {cores} cores ({info['cpu']}), {info['memory']} memory; "
        f"{info.get('interpreter', 'CPython')}; "
        f"gunicorn {info['workers']} sync workers, 1 Celery worker (2 processes), "
        f"PostgreSQL, Redis and wrk on the same machine; {info['seconds']} s per scenario "
        f"after a warm-up; {info['units']} units. `bench/run` at commit {info['commit']}"
        + (
            f" with uncommitted changes to {info['changed'].strip()}."
            if info["changed"].strip()
            else "."
        )
    )
    out.append("")
    out.append(
        "| scenario | accounts | connections | req/s (successes) | p50 ms | p99 ms "
        "| queries/request | CPU ms/request | machine busy | errors |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for phase, accounts in (("small", small), ("large", large)):
        for scenario in ORDER:
            run = runs.get((phase, scenario))
            if run is None or run["duration_s"] < 3:  # a short probe: queries only
                continue
            c = connections.get(scenario, info["page_connections"])
            out.append(
                f"| {LABELS[scenario]} | {accounts:,} | {c} | {run['rps']:.1f} "
                f"| {run['p50_ms']:.1f} | {run['p99_ms']:.1f} | {queries_text(run)} "
                f"| {cpu_text(run)} | {busy_text(run)} | {errors_text(run)} |"
            )
    out.append("")
    out.append(
        "req/s counts only successes (a page: 200; sign-in: 302 to `/`; create: 302 to "
        "`/manage/accounts/`); anything else is listed under errors. Latency is over every "
        "response. Queries/request: the usual X-Queries value (range when it varies). "
        "CPU ms/request: gunicorn + the PostgreSQL backends of portal_bench (+ Celery, the "
        "SMTP sink and Redis when they used 0.5 ms or more), per successful request, from "
        "/proc. Machine busy: all cores over the run, and in brackets the part used by "
        "neither of those (wrk, the kernel, other processes on this shared machine)."
    )
    out.append("")
    out += timing_table(directory)

    targets = []
    # Sign-in
    sign_in = runs.get(("large", "sign_in"))
    params_ok = hashing["variety"] == "argon2id" and all(
        hashing[key] >= minimum for key, minimum in OWASP_MIN.items()
    )
    out.append(
        f"- Cores: {cores}. Argon2: {hashing['variety']} m={hashing['memory_cost_kib']} KiB, "
        f"t={hashing['time_cost']}, p={hashing['parallelism']} "
        f"({'at or above' if params_ok else 'BELOW'} OWASP's minimum m=19 MiB, t=2, p=1); "
        f"one verify {verify * 1000:.1f} ms (median of {hashing['verifies']}, separate process)."
    )
    out.append(f"- Hashing-only ceiling: {cores} cores ÷ {verify * 1000:.1f} ms = {ceiling:.1f}/s.")
    if sign_in:
        per_core = sign_in["rps"] / cores
        share = sign_in["rps"] / ceiling
        out.append(
            f"- Sign-in: {sign_in['rps']:.1f}/s = {per_core:.1f}/s per core "
            f"(target ≥ 30: {mark(per_core >= 30)}), {share:.0%} of the ceiling "
            f"(target ≥ 80%: {mark(share >= 0.8)}); argon2id ≥ OWASP minimum: {mark(params_ok)}."
        )
        targets += [per_core >= 30, share >= 0.8, params_ok]
        if sign_in["cpu"]:
            web, db = sign_in["cpu"]["gunicorn"], sign_in["cpu"]["postgres"]
            out.append(
                f"- Sign-in CPU: {web:.1f} ms in gunicorn + {db:.1f} ms in PostgreSQL per "
                f"sign-in; the argon2 verify is {verify * 1000:.1f} ms of it "
                f"({verify * 1000 / (web + db):.0%}). At this cost the cores could do at most "
                f"{cores * 1000 / (web + db):.1f}/s even with nothing else running."
            )
    bare = runs.get(("large", "bare"))
    if bare:
        for scenario in PAGES:
            run = runs.get(("large", scenario))
            if not run:
                continue
            share = run["rps"] / bare["rps"] if bare["rps"] else 0
            fast = run["p99_ms"] < 100
            out.append(
                f"- {LABELS[scenario]}: {share:.0%} of the bare view's {bare['rps']:.0f}/s "
                f"(target ≥ 20%: {mark(share >= 0.2)}), p99 {run['p99_ms']:.0f} ms at "
                f"{info['page_connections']} connections (target < 100 ms: {mark(fast)})."
            )
            targets += [share >= 0.2, fast]
    up, down = runs.get(("large", "create_smtp_up")), runs.get(("large", "create_smtp_down"))
    if up and down and down["rps"]:
        ratio = up["rps"] / down["rps"]  # time per request, down over up, same concurrency
        out.append(
            f"- Create with SMTP down vs up: {ratio:.2f}× the time per request "
            f"({down['rps']:.1f} vs {up['rps']:.1f}/s; p50 {down['p50_ms']:.0f} vs "
            f"{up['p50_ms']:.0f} ms) (target ≤ 1.1×: {mark(ratio <= 1.1)})."
        )
        targets.append(ratio <= 1.1)
    for scenario in ("sign_in", "search"):
        before, after = runs.get(("small", scenario)), runs.get(("large", scenario))
        if before and after and after["rps"]:
            ratio = before["rps"] / after["rps"]  # time per request, large over small
            text = (
                f"- {LABELS[scenario]}, {large:,} vs {small:,} accounts: {ratio:.2f}× the time "
                f"per request ({after['rps']:.1f} vs {before['rps']:.1f}/s; p50 "
                f"{after['p50_ms']:.0f} vs {before['p50_ms']:.0f} ms"
            )
            if before["cpu"] and after["cpu"]:
                cpu_before = before["cpu"]["gunicorn"] + before["cpu"]["postgres"]
                cpu_after = after["cpu"]["gunicorn"] + after["cpu"]["postgres"]
                text += f"; CPU {cpu_after:.1f} vs {cpu_before:.1f} ms"
            if verify_small:
                # The machine's own speed drifts on a shared host: the same argon2 verify,
                # timed before each phase, shows by how much.
                drift = verify / verify_small
                text += (
                    f"; one verify {verify * 1000:.1f} vs {verify_small * 1000:.1f} ms, "
                    f"so {ratio / drift:.2f}× with the machine's drift taken out"
                )
            out.append(text + f") (target < 1.2×: {mark(ratio < 1.2)}).")
            targets.append(ratio < 1.2)
    changed = []
    for scenario in ORDER:
        before, after = runs.get(("small", scenario)), runs.get(("large", scenario))
        if before and after:
            a, b = usual_queries(before), usual_queries(after)
            if a != b:
                changed.append(f"{scenario} {a}→{b}")
    out.append(
        f"- Queries per request at {small:,} and {large:,} accounts: "
        + ("the same in every scenario" if not changed else "changed: " + ", ".join(changed))
        + f" (target constant: {mark(not changed)})."
    )
    targets.append(not changed)
    rss = [int(value) for value in info["worker_rss_kib"].split()]
    if rss:
        biggest = max(rss) / 1024
        out.append(
            f"- Gunicorn worker resident memory after {total_requests:,} requests: "
            + ", ".join(f"{value / 1024:.0f} MB" for value in rss)
            + f" (target < 150 MB: {mark(biggest < 150)})."
        )
        targets.append(biggest < 150 and total_requests >= 10000)
    targets += timing_lines(directory, out)
    out.append("")
    out.append(f"Targets met: {sum(targets)} of {len(targets)}.")
    return "\n".join(out) + "\n"


def timing_table(directory: Path) -> list:
    """bench/timing.py's scenarios, one row each, timed one request at a time."""
    rows = []
    forms_path = directory / "timing-forms.json"
    if forms_path.exists():
        for path, run in json.loads(forms_path.read_text())["forms"].items():
            difference = run["difference_ms"]
            rows.append(
                f"| (h) `{path}` match vs miss | {run['samples']} + {run['samples']} "
                f"| {run['match_median_ms']:.2f} vs {run['miss_median_ms']:.2f} ms "
                f"| {difference:+.2f} ms | < 1 ms | {mark(abs(difference) < 1)} |"
            )
    import_path = directory / "timing-import.json"
    if import_path.exists():
        run = json.loads(import_path.read_text())
        rows.append(
            f"| (i) CSV import, {run['rows']:,} rows ({run['taken']} taken) | 1 "
            f"| {run['seconds']:.1f} s | {run['created']:,} created, {run['mails']:,} mails "
            f"| < 30 s | {mark(run['seconds'] < 30)} |"
        )
    if not rows:
        return []
    return [
        "| timed one request at a time | requests | median (match vs miss) or time "
        "| difference or result | target | |",
        "|---|---:|---:|---:|---|---|",
        *rows,
        "",
        "(h): alternating pairs, each submission its own account or made-up name and its own "
        "address; time from the first byte sent to the last received. (i): one multipart "
        "upload, until the redirect to the result page.",
        "",
    ]


def timing_lines(directory: Path, out: list) -> list:
    """Issue 13's targets from bench/timing.py: the public forms take as long for a match as
    for a miss (within 1 ms, medians), and the 2,000-row CSV import answers in under 30 s."""
    targets = []
    forms_path = directory / "timing-forms.json"
    if forms_path.exists():
        for path, run in json.loads(forms_path.read_text())["forms"].items():
            difference = run["difference_ms"]
            close = abs(difference) < 1
            out.append(
                f"- `{path}`, match vs miss ({run['samples']} alternating pairs): median "
                f"{run['match_median_ms']:.2f} vs {run['miss_median_ms']:.2f} ms, difference "
                f"{difference:+.2f} ms (target < 1 ms: {mark(close)}); one sample names its "
                f"kind right {run['one_sample_right']:.0%} of the time (50% is a coin)."
            )
            targets.append(close)
    import_path = directory / "timing-import.json"
    if import_path.exists():
        run = json.loads(import_path.read_text())
        fast = run["seconds"] < 30
        out.append(
            f"- CSV import by the holder, {run['rows']:,} rows ({run['taken']} names already "
            f"taken), one request end to end: {run['seconds']:.1f} s, {run['created']:,} "
            f"accounts created, {run['mails']:,} mails queued (target < 30 s: {mark(fast)})."
        )
        targets.append(fast)
    return targets


def slowest(directory: Path) -> str:
    """The slowest measured scenario that hashes no password (sign-in does), and the slowest
    page if that is another one: the scenarios to profile."""
    candidates = []
    for path in directory.glob("large-*.json"):
        run = load(path)
        if run["scenario"] not in ("sign_in", "bare") and run["duration_s"] >= 3:
            candidates.append((run["rps"], run["scenario"]))
    names = [min(candidates)[1], min(c for c in candidates if c[1] in PAGES)[1]]
    return " ".join(dict.fromkeys(names))


def main():
    command = sys.argv[1]
    if command == "line":
        print(line(sys.argv[2], sys.argv[3]))
    elif command == "table":
        print(table(Path(sys.argv[2])), end="")
    elif command == "slowest":
        print(slowest(Path(sys.argv[2])))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
