"""The hashing-only ceiling: how long one password verify takes with the project's hasher,
in a process of its own while the server is idle. Prints JSON.

    python bench/hashtime.py [VERIFIES]
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import check_password, get_hasher, make_password  # noqa: E402


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    hasher = get_hasher("default")
    encoded = make_password("Bench-Portal-2026!tw")
    check_password("Bench-Portal-2026!tw", encoded)  # warm up (imports, allocations)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        if not check_password("Bench-Portal-2026!tw", encoded):
            raise SystemExit("verify failed")
        times.append(time.perf_counter() - started)
    params = hasher.decode(encoded)
    print(
        json.dumps(
            {
                "hasher": f"{type(hasher).__module__}.{type(hasher).__name__}",
                "variety": params.get("variety"),
                "memory_cost_kib": params.get("memory_cost"),
                "time_cost": params.get("time_cost"),
                "parallelism": params.get("parallelism"),
                "verifies": count,
                "median_s": statistics.median(times),
                "min_s": min(times),
            }
        )
    )


if __name__ == "__main__":
    main()
