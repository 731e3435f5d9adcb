"""Whole-process time of `photocap search QUERY` for versions of photocap side by side, in alternating runs.

    python -m benchmarks.search_startup --runs 20 \\
        --version before=/tmp/photocap-before:/tmp/lat/before --version now=:/tmp/lat/now

Each --version is LABEL=CODE:HOME: CODE a checkout of photocap put first on PYTHONPATH (empty: the installed one),
HOME a photocap home that version indexed. Every round runs each version once, through this environment's
`photocap` console script as a user runs it, in a new process; the first round only warms the page cache. Prints
each version's median, minimum and 90th percentile wall time and its median CPU time (user + system of the
search process), which is steadier on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_QUERY = "a dog runs on the beach"


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="append", required=True, metavar="LABEL=CODE:HOME")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--query", default=DEFAULT_QUERY)
    args = parser.parse_args()
    script = shutil.which("photocap", path=str(Path(sys.executable).parent)) or "photocap"
    versions = []
    for spec in args.version:
        label, _, rest = spec.partition("=")
        code, _, home = rest.partition(":")
        versions.append((label, code, home))
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOCAP_") and k != "PYTHONPATH"}
    wall: dict[str, list[float]] = {label: [] for label, _, _ in versions}
    cpu: dict[str, list[float]] = {label: [] for label, _, _ in versions}
    for round_number in range(args.runs + 1):
        for label, code, home in versions:
            env = dict(clean, **({"PYTHONPATH": code} if code else {}))
            began, cpu_before = time.perf_counter(), children_cpu()
            run = subprocess.run([script, "--home", home, "search", args.query], capture_output=True, env=env,
                                 cwd="/tmp", check=False)
            took = time.perf_counter() - began
            if run.returncode not in (0, 1):
                raise SystemExit(f"{label}: {run.stderr.decode().strip()}")
            if round_number:
                wall[label].append(took)
                cpu[label].append(children_cpu() - cpu_before)
    print(f"load {os.getloadavg()[0]:.2f}, {args.runs} runs each, {args.query!r}")
    for label, times in wall.items():
        times.sort()
        print(f"{label:10} median {statistics.median(times):.3f} s  min {times[0]:.3f}  "
              f"p90 {times[int(0.9 * (len(times) - 1))]:.3f}  CPU median {statistics.median(cpu[label]):.3f} s")


if __name__ == "__main__":
    main()
