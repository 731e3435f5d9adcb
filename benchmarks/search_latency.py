"""`photocap search` wall time, process start included, on an index of the 1,000 Flickr8k test images.

    python -m benchmarks.retrieval --model default --save-captions /tmp/test_captions.json
    python -m benchmarks.search_latency --captions /tmp/test_captions.json [--queries 50]

Builds `<home>/index` from the model's output for the test images (as the retrieval benchmark does), then
runs the `photocap search` command once per query (human captions of test images, seeded sample) and times
each whole process, in wall time and in the process's own CPU time (steadier on a shared machine). Target
(issue 3): under 0.3 s.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.retrieval import documents, load_model_output, load_test_images, split_file
from photocap.search.index import SearchIndex


def search_command() -> list[str]:
    """The installed console script beside this interpreter, else the module."""
    script = Path(sys.executable).with_name("photocap")
    return [str(script)] if script.exists() else [sys.executable, "-m", "photocap.cli"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--captions", type=Path, required=True, help="the model's output for the test images")
    parser.add_argument("--data", type=Path, help="Flickr8k folder (default $PHOTOCAP_DATA)")
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()

    images = load_test_images(split_file(args.data))
    output = load_model_output(args.captions, images)
    sentences = [s for image in images for s in image.sentences]
    queries = random.Random(0).sample(sentences, args.queries)
    with tempfile.TemporaryDirectory(prefix="photocap-latency-") as home:
        SearchIndex.rebuild_at(Path(home) / "index", documents(images, output)).close()
        command = [*search_command(), "--home", home, "search", "--limit", "10", "--json"]
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOCAP_")}
        seconds: list[float] = []
        cpu: list[float] = []  # the process's own CPU time: on a shared machine, what the search costs
        for query in queries:
            began, children = time.perf_counter(), _children_cpu()
            run = subprocess.run([*command, query], capture_output=True, env=environment)
            seconds.append(time.perf_counter() - began)
            cpu.append(_children_cpu() - children)
            if run.returncode not in (0, 1):
                raise SystemExit(f"photocap search {query!r} failed: {run.stderr.decode().strip()}")
    seconds.sort()
    print(f"command          {' '.join(command[:1])} ... search QUERY")
    print(f"queries          {len(seconds)} (whole processes, start-up included)")
    print(f"median s         {statistics.median(seconds):.3f}   target < 0.3 s")
    print(f"p95 s            {seconds[int(0.95 * (len(seconds) - 1))]:.3f}")
    print(f"max s            {seconds[-1]:.3f}")
    print(f"median CPU s     {statistics.median(cpu):.3f}   (user + system time of the search process)")
    print(f"python alone s   {python_start():.3f}   (interpreter start, for scale)")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def python_start() -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - began


if __name__ == "__main__":
    main()
